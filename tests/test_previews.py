"""Previews say exactly what a poll sends: ``rules test ALERT`` replays an alert over the
archive, ``fetch SOURCE`` tells what is stored and what would alert (again).

The CLI is called in-process (``monitor.cli.main``) and what it prints is compared with
what the mail sink and the webhook receiver really got from ``run --once``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.clikit import Result
from tests.faultserver import FaultServer, Reply
from tests.sitekit import HOOK_SECRET, MailSink, render, serve_site

HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml"}

# Each page its own story: distinct bodies, long enough to be compared for copies.
PAGES = {
    "outsider": ("fr", "Amazon recrute des livreurs à Marseille",
                 "Le groupe Amazon annonce l'embauche de quatre cents livreurs dans la région "
                 "marseillaise, une campagne menée avec les agences locales pour l'emploi."),
    "english": ("en", "Amazon expands its grocery delivery in Manchester",
                "Amazon said on Tuesday that its grocery service would reach every district "
                "of Greater Manchester by the spring, hiring drivers and pickers for it."),
    "archive": ("fr", "Amazon rachète une start-up de logistique nantaise",
                "Amazon a finalisé le rachat d'une jeune pousse nantaise spécialisée dans "
                "l'optimisation des tournées, pour un montant qui n'a pas été communiqué."),
}  # fmt: skip


def _page(lang: str, title: str, text: str) -> bytes:
    paragraphs = "".join(f"<p>{text} Paragraphe {n} de l'article.</p>" for n in range(1, 4))
    body = f"<article><h1>{title}</h1>{paragraphs}</article>"
    head = f"<head><title>{title}</title></head>"
    return f"<html lang='{lang}'>{head}<body>{body}</body></html>".encode()


def _feed(site: FaultServer, name: str, title: str, published: datetime) -> str:
    return (
        f"<rss version='2.0'><channel><title>{name}</title><item><title>{title}</title>"
        f"<link>{site.url('/' + name + '/article')}</link>"
        f"<pubDate>{format_datetime(published)}</pubDate></item></channel></rss>"
    )


@pytest.fixture
def site() -> Iterator[FaultServer]:
    now = datetime.now(UTC)
    with FaultServer() as server:
        serve_site(server, now - timedelta(hours=1))
        server.route("/hook", Reply(b"", status=204))
        for name, (lang, title, text) in PAGES.items():
            # The archive's article is ten days old when first seen: max_age 3d stops it.
            when = now - (timedelta(days=10) if name == "archive" else timedelta(hours=2))
            server.route(f"/{name}/article", Reply(_page(lang, title, text), headers=HTML))
            server.route(f"/{name}.xml", Reply(_feed(server, name, title, when), headers=RSS))
        # Two outlets reprint the open letter word for word: the same story.
        letter = render("fr-lettre-amazon.html", server.origin, now - timedelta(hours=1))
        original = f"{server.origin}/articles/lettre-ouverte-amazon".encode()
        for name in ("copycat", "reprint"):
            title = "Lettre ouverte"
            # Each under its own canonical URL: one naming the letter's is the letter.
            page = letter.replace(original, f"{server.origin}/{name}/article".encode())
            server.route(f"/{name}/article", Reply(page, headers=HTML))
            server.route(f"/{name}.xml", Reply(_feed(server, name, title, now), headers=RSS))
        yield server


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    # main() points the root logger at its own stderr handler; put pytest's back after.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def write_config(tmp_path: Path, site: FaultServer, mail: MailSink, *, reprint: bool) -> Path:
    extra = "".join(
        f"\n  - name: {n}\n    url: {site.url(f'/{n}.xml')}\n    language: {lang}"
        for n, lang in [
            ("copycat", "fr"), ("outsider", "fr"), ("english", "en"), ("archive", "fr"),
            ("reprint", "fr"),
        ]
    )  # fmt: skip
    # The reprint is listed always (the alert names it) but polled only when asked for.
    extra += f"\n    enabled: {str(reprint).lower()}"
    config = tmp_path / "sources.yaml"
    text = textwrap.dedent(f"""\
        allow_private_networks: true
        fetch: {{min_delay: 0s, timeout: 3s}}
        sources:
          - name: qdn-tech
            url: {site.url("/fr/rss.xml")}
            language: fr
          - name: ledger-business
            url: {site.url("/en/atom.xml")}
            language: en""")
    text += extra + textwrap.dedent(f"""
        alerts:
          - name: amazon-watch
            query: Amazon
            max_age: 3d
            languages: [fr]
            sources: [qdn-tech, copycat, english, archive, reprint]
            notify: [team-mail, ops-hook]
        channels:
          team-mail:
            type: email
            to: [veille@example.org]
            from: monitor@example.org
            smtp: {{host: 127.0.0.1, port: {mail.port}, tls: none}}
          ops-hook:
            type: webhook
            url: {site.url("/hook")}
            secret: {HOOK_SECRET}
        """)
    config.write_text(text)
    return config


def cli(run_cli: Callable[..., Result], config: Path, *args: str) -> tuple[int, str, str]:
    # run_cli runs with only the MONITOR_* variables it is given: pass the test's own.
    env = {k: v for k, v in os.environ.items() if k.startswith("MONITOR_")}
    result = run_cli("--config", str(config), *args, env=env)
    return result.code, result.out, result.err


ALERT_LINE = re.compile(r"^  alert:\s+\S+ \S+  \[(?P<source>[^\]]+)\]  (?P<title>.+?)  \S+$")


def sent(site: FaultServer, mail: MailSink) -> set[tuple[str, str, str]]:
    """(channel, source, title) of every alert the receivers got."""
    out = set()
    for request in site.requests_to("/hook"):
        article = json.loads(request.body)["article"]
        out.add(("ops-hook", article["source"], article["title"]))
    for msg in mail.messages:
        subject = str(msg["Subject"]).removeprefix("[amazon-watch] ")
        source = re.search(r"\b(qdn-tech|copycat|reprint|english|archive)\b", _text(msg))
        out.add(("team-mail", source.group(1) if source else "?", subject))
    return out


def _text(msg: object) -> str:
    parts = msg.walk()  # type: ignore[attr-defined]
    return "\n".join(p.get_content() for p in parts if p.get_content_type() == "text/plain")


def previewed(out: str) -> set[tuple[str, str, str]]:
    header = out.splitlines()[0]
    channels = header.split(" on channels ", 1)[1].split(", ")
    alerts = [m for line in out.splitlines() if (m := ALERT_LINE.match(line))]
    return {(c, m["source"], m["title"]) for m in alerts for c in channels}


def test_rules_test_alert_previews_exactly_what_run_once_sends(
    tmp_path: Path,
    db_url: str,
    site: FaultServer,
    mail: MailSink,
    run_cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MONITOR_DATABASE_URL", db_url)
    config = write_config(tmp_path, site, mail, reprint=False)
    code, _, err = cli(run_cli, config, "run", "--once")
    assert code == 0, err
    delivered = sent(site, mail)

    code, out, err = cli(run_cli, config, "rules", "test", "amazon-watch", "--since", "30d")
    assert code == 0, err
    # The preview's alerts are the receivers' alerts: same stories, same channels.
    assert previewed(out) == delivered
    # The open letter (and its copy: one story, one alert per channel) and the warehouse.
    assert out.splitlines()[0] == (
        "amazon-watch: 4 alert(s) for 2 stories on channels team-mail, ops-hook"
    )
    assert len(mail.messages) == 2 and len(site.requests_to("/hook")) == 2
    assert out.count("later copy (no new alert)") == 1
    assert "carried by: qdn-tech, copycat" in out or "carried by: copycat, qdn-tech" in out
    # Each filter stopped an article the query matched, and the preview says which.
    assert re.search(r"older than max_age \(10\.\d+d old\): .*\[archive\]", out)
    assert "language en not in languages: " in out and "[english]" in out
    assert "source outsider not in sources: " in out

    # A bare query keeps its meaning: every matching article, filters not applied.
    code, out, err = cli(run_cli, config, "rules", "test", "Amazon", "--since", "30d")
    assert code == 0, err
    assert "6 of 7 article(s) match" in err
    for outlet in ("[outsider]", "[english]", "[archive]", "[copycat]"):
        assert outlet in out


def test_rules_test_names_the_alerts_when_neither_alert_nor_query(
    tmp_path: Path,
    site: FaultServer,
    mail: MailSink,
    run_cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MONITOR_DATABASE_URL", f"sqlite:///{tmp_path / 'm.db'}")
    config = write_config(tmp_path, site, mail, reprint=False)
    code, _, err = cli(run_cli, config, "rules", "test", 'amazon-wach "oops')
    assert code == 1
    assert "is not an alert in the config (alerts: amazon-watch)" in err
    assert "does not parse as a query" in err
    assert not (tmp_path / "m.db").exists()  # refused before the database is opened


def test_fetch_says_what_is_stored_and_what_would_not_alert_again(
    tmp_path: Path,
    db_url: str,
    site: FaultServer,
    mail: MailSink,
    run_cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MONITOR_DATABASE_URL", db_url)
    config = write_config(tmp_path, site, mail, reprint=True)
    db_file = tmp_path / "monitor.db"
    # No database yet: the dry run says so, and does not create one.
    code, out, err = cli(run_cli, config, "fetch", "reprint")
    assert code == 0, err
    assert "no database yet" in out and "would alert amazon-watch -> team-mail, ops-hook" in out
    if db_url.startswith("sqlite"):
        assert not db_file.exists()

    # Stored once without the reprint: the letter has alerted on both channels.
    write_config(tmp_path, site, mail, reprint=False)
    assert cli(run_cli, config, "run", "--once")[0] == 0
    before = sent(site, mail)
    config = write_config(tmp_path, site, mail, reprint=True)

    code, out, err = cli(run_cli, config, "fetch", "qdn-tech")
    assert code == 0, err
    assert out.count("already stored (story #") == 2 and "a poll skips it" in out
    assert "would alert" not in out

    code, out, err = cli(run_cli, config, "fetch", "reprint")
    assert code == 0, err
    assert re.search(r"not stored yet, a copy of story #\d+", out)
    assert "would not alert amazon-watch again -> team-mail, ops-hook: its story" in out
    assert "would alert amazon-watch" not in out

    # And the poll agrees: the reprint is stored, nothing more is sent.
    assert cli(run_cli, config, "run", "--once")[0] == 0
    assert sent(site, mail) == before
