"""What each boundary promises: the config refuses what a component would, a reload keeps
the running set whole, the store speaks one error tree, a poll never raises."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.cli import main
from monitor.config import load_config, parse_config
from monitor.errors import ConfigError, StoreError
from monitor.fetch import Fetcher
from monitor.pipeline import Rules, Runtime, poll_source
from monitor.scheduler import Daemon
from monitor.store import SourceSpec, Store

GOOD = """\
alerts:
  - name: watch
    query: amazon
    notify: [mail]
channels:
  mail:
    type: email
    to: [reader@example.org]
    from: monitor@example.org
    subject: "{subject}"
    smtp: {{host: 127.0.0.1, port: 2525, tls: none}}
"""


def _with(subject: str = "[{alert}] {title}") -> str:
    return GOOD.format(subject=subject)


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ('subject: "{nope}"', "unknown fields ['nope']"),
        ('subject: "{title.__class__}"', "subject template"),
        ('subject: "{title"', "malformed"),
    ],
)
def test_a_subject_the_notifier_refuses_is_a_config_error_with_its_line(
    channel: str, expected: str
) -> None:
    text = _with().replace('subject: "[{alert}] {title}"', channel)
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "sources.yaml", env={})
    assert "sources.yaml:7: channels.mail" in str(caught.value)
    assert expected in str(caught.value)


def test_a_malformed_webhook_secret_and_apprise_url_are_refused_in_one_round() -> None:
    text = """\
channels:
  hook:
    type: webhook
    url: https://hooks.example.org/in
    secret: "whsec_***"
  chat:
    type: apprise
    urls: ["nosuchscheme://x"]
"""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "sources.yaml", env={})
    message = str(caught.value)
    assert "sources.yaml:3: channels.hook" in message and "base64" in message
    assert "sources.yaml:7: channels.chat" in message and "Apprise" in message
    assert "***" not in message  # the secret itself is never echoed


def test_check_refuses_a_template_run_would_refuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(_with().replace("[{alert}] {title}", "{nope}"))
    assert main(["--config", str(path), "check"]) == 2
    assert "channels.mail" in capsys.readouterr().err


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'monitor.db'}")
    s.migrate()
    yield s
    s.close()


def _daemon(tmp_path: Path) -> tuple[Path, Daemon]:
    """A daemon (not started) on a good sources.yaml the test may rewrite."""
    path = tmp_path / "sources.yaml"
    path.write_text(_with())
    return path, Daemon(path, load_config(path))


async def test_a_reload_with_a_bad_channel_keeps_the_running_rules_and_notifiers(
    tmp_path: Path, store: Store
) -> None:
    path, daemon = _daemon(tmp_path)
    async with Fetcher() as fetcher:
        live = daemon._live(store, fetcher)
        before = (daemon.config, live.rt, live.notifiers)
        # New rules and a broken subject: neither may go live without the other.
        path.write_text(
            _with().replace("query: amazon", "query: layoffs").replace("{title}", "{nope}")
        )
        await daemon._reload(store, fetcher, live)
        assert (daemon.config, live.rt, live.notifiers) == before
        path.write_text(_with().replace("query: amazon", "query: layoffs"))
        await daemon._reload(store, fetcher, live)
        assert live.rt.rules.alerts["watch"].query == "layoffs"
        assert live.notifiers is not before[2] and daemon.config is live.rt.config


def test_a_broken_database_is_a_store_error_not_a_raw_sqlalchemy_one(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE outbox"))
    with pytest.raises(StoreError, match="claim_outbox"):
        store.claim_outbox(datetime.now(UTC), timedelta(minutes=1), 10, ["mail"])
    with pytest.raises(StoreError):
        store.next_outbox_attempt(["mail"])


async def test_a_poll_whose_outcome_cannot_be_recorded_returns_instead_of_raising(
    tmp_path: Path, store: Store
) -> None:
    config = parse_config(
        "allow_private_networks: true\nsources:\n  - {name: gone, url: 'http://127.0.0.1:9/feed'}\n",
        env={},
    )
    now = datetime.now(UTC)
    store.sync_sources([SourceSpec("gone", "http://127.0.0.1:9/feed", "feed", 600)], now)
    [claimed] = store.claim_due(now, "me:1:x", timedelta(minutes=5), 10, due_or_not=True)
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE sources"))
    async with Fetcher() as fetcher:
        rt = Runtime(config, store, fetcher, Rules.from_config(config))
        result = await poll_source(rt, claimed)
    assert not result.ok and result.error is not None and "database error" in result.error


async def test_a_reload_keeps_the_vocabulary_the_news_has_warmed(
    tmp_path: Path, store: Store
) -> None:
    path, daemon = _daemon(tmp_path)
    async with Fetcher() as fetcher:
        live = daemon._live(store, fetcher)
        rt = live.rt
        vocabulary = live.rt.rules.index.vocabulary
        path.write_text(_with().replace("query: amazon", "query: layoffs"))
        await daemon._reload(store, fetcher, live)
        assert live.rt.rules.index is not rt.rules.index
        assert live.rt.rules.index.vocabulary is vocabulary


@pytest.mark.parametrize("value", ["99999999999w", ".inf", "99999999999999999999s"])
def test_a_duration_no_clock_can_hold_is_a_config_error_with_its_line(value: str) -> None:
    with pytest.raises(ConfigError, match=r"sources.yaml:1: retention: duration out of range"):
        parse_config(f"retention: {value}\n", "sources.yaml", env={})
