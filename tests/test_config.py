"""sources.yaml validation: every error names the file, the line and the key."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import load_config, parse_config
from monitor.errors import ConfigError
from tests.clikit import Result

ROOT = Path(__file__).resolve().parents[1]

GOOD = """\
database: sqlite:///x.db
sources:
  - name: a
    url: https://example.org/feed.xml
    interval: 10m
  - name: b
    url: https://example.org/news
    kind: page
    interval: 1h
alerts:
  - name: amazon
    query: Amazon IA licenciements
    notify: [console, hook]
channels:
  console:
    type: log
  hook:
    type: webhook
    url: https://hooks.example.org/x
    secret: "${HOOK_SECRET}"
"""


def test_good_config_parses_with_defaults() -> None:
    config = parse_config(GOOD, "s.yaml", {"HOOK_SECRET": "s3cret"})
    assert [s.name for s in config.sources] == ["a", "b"]
    assert config.sources[0].interval == timedelta(minutes=10)
    assert config.sources[1].kind == "page"
    assert config.alerts[0].max_age == timedelta(days=3)
    hook = config.channels["hook"]
    assert hook.type == "webhook" and hook.secrets == ("s3cret",)


def test_database_env_var_wins() -> None:
    config = parse_config(
        GOOD, "s.yaml", {"HOOK_SECRET": "x", "MONITOR_DATABASE_URL": "sqlite:///y.db"}
    )
    assert config.database == "sqlite:///y.db"


# (what is wrong, the edit to GOOD, the line the error must name, words it must contain)
CASES = [
    (
        "unknown top key",
        ("database: sqlite:///x.db", "database: sqlite:///x.db\ncolour: red"),
        2,
        "colour: unknown key",
    ),
    (
        "unknown source key",
        ("    interval: 10m", "    interval: 10m\n    colour: red"),
        6,
        "sources[0].colour: unknown key",
    ),
    (
        "bad url",
        ("https://example.org/feed.xml", "ftp://example.org/feed.xml"),
        4,
        "sources[0].url",
    ),
    (
        "bad interval",
        ("interval: 10m", "interval: 10 minutes"),
        5,
        "sources[0].interval: expected a duration",
    ),
    ("too short interval", ("interval: 10m", "interval: 5s"), 5, "at least 30s"),
    ("bad kind", ("kind: page", "kind: blog"), 8, "sources[1].kind"),
    ("bad selector", ("kind: page", "kind: page\n    body_selector: 'div[[x'"), 9, "valid CSS"),
    ("duplicate source", ("  - name: b", "  - name: a"), 6, "duplicate source name"),
    (
        "unknown channel",
        ("notify: [console, hook]", "notify: [console, pager]"),
        13,
        "no channel named 'pager'",
    ),
    (
        "unset variable",
        ("${HOOK_SECRET}", "${NOT_SET_ANYWHERE}"),
        20,
        "NOT_SET_ANYWHERE is not set",
    ),
    ("bad channel type", ("    type: log", "    type: pigeon"), 16, "channels.console"),
    (
        "missing url",
        ("    url: https://example.org/news\n", ""),
        6,
        "sources[1].url: Field required",
    ),
    ("bad query", ("query: Amazon IA licenciements", 'query: Amazon "IA'), 12, "invalid query"),
    (
        "duplicate key",
        ("    interval: 1h", "    interval: 1h\n    interval: 2h"),
        10,
        "duplicate key",
    ),
    ("not yaml", ("    kind: page", "    kind: [page"), 9, "s.yaml:"),
]


@pytest.mark.parametrize(
    ("edit", "line", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_config_errors_name_file_line_and_key(edit: tuple[str, str], line: int, words: str) -> None:
    old, new = edit
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    with pytest.raises(ConfigError) as info:
        parse_config(text, "s.yaml", {"HOOK_SECRET": "s3cret"})
    message = str(info.value)
    assert words in message
    assert f"s.yaml:{line}" in message, message


def test_errors_never_print_secrets() -> None:
    # The secret lands in a field that is wrong (a webhook URL that is not one).
    text = GOOD.replace("url: https://hooks.example.org/x", "url: ${HOOK_SECRET}")
    with pytest.raises(ConfigError) as info:
        parse_config(text, "s.yaml", {"HOOK_SECRET": "hunter2-very-secret"})
    assert "hunter2" not in str(info.value)
    assert "channels.hook.url" in str(info.value)


def test_every_problem_is_listed_at_once() -> None:
    text = GOOD.replace("interval: 10m", "interval: soon").replace("kind: page", "kind: blog")
    with pytest.raises(ConfigError) as info:
        parse_config(text, "s.yaml", {"HOOK_SECRET": "x"})
    assert "sources[0].interval" in str(info.value) and "sources[1].kind" in str(info.value)


def test_missing_file_says_how_to_point_elsewhere(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MONITOR_CONFIG"):
        load_config(tmp_path / "nope.yaml")


def test_bundled_example_is_valid_without_secrets() -> None:
    config = load_config(ROOT / "sources.yaml", env={})
    assert config.alerts and config.alerts[0].query == "Amazon IA licenciements"
    assert {c.type for c in config.channels.values()} == {"log", "email", "webhook"}


def test_plaintext_smtp_credentials_refused() -> None:
    text = textwrap.dedent("""\
        channels:
          mail:
            type: email
            to: [a@example.org]
            from: b@example.org
            smtp: {host: smtp.example.org, port: 25, username: u, password: p, tls: none}
        """)
    with pytest.raises(
        ConfigError, match=r"s.yaml:6: channels.mail.smtp: credentials are never sent"
    ):
        parse_config(text, "s.yaml", {})


def test_check_command_summarises_and_fails_with_line(
    tmp_path: Path, run_cli: Callable[..., Result]
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    env = {"HOOK_SECRET": "x"}
    res = run_cli("--config", str(good), "check", env=env)
    assert res.code == 0, res.err
    assert "2 source(s)" in res.out and "amazon" in res.out
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("interval: 1h", "interval: often"))
    res = run_cli("--config", str(bad), "check", env=env)
    assert res.code == 2
    assert f"{bad}:9: sources[1].interval" in res.err


def test_readme_reference_lists_every_config_key() -> None:
    from monitor import config as c

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration reference", 1)[1].split("\n## ", 1)[0]
    models = [
        c.Config,
        c.FetchConfig,
        c.HttpConfig,
        c.SourceConfig,
        c.AlertConfig,
        c.EmailChannel,
        c.WebhookChannel,
    ]
    missing = [
        f"{m.__name__}.{info.alias or name}"
        for m in models
        for name, info in m.model_fields.items()
        if f"`{info.alias or name}`" not in section
    ]
    smtp_line = next(line for line in section.splitlines() if line.startswith("| `email` | `smtp`"))
    missing += [f"SmtpConfig.{n}" for n in c.SmtpConfig.model_fields if f"`{n}`" not in smtp_line]
    assert not missing, f"README's configuration reference lacks {missing}"
