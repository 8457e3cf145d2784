"""sources.yaml mistakes as a hurried or hostile user makes them: every one reported in
one run, with its file, line and key, and what ``run`` would refuse refused by ``check``."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.config import InvalidConfig, load_config, parse_config
from monitor.errors import ConfigError
from tests.clikit import Result

BASE = """\
sources:
  - name: lemonde
    url: https://example.org/feed.xml
    interval: 10m
alerts:
  - name: amazon
    query: Amazon IA
    notify: [mail]
channels:
  mail:
    type: email
    to: [veille@example.org]
    from: monitor@example.org
    smtp: {host: smtp.example.org, port: 587}
  hook:
    type: webhook
    url: https://hooks.example.org/x
"""


def problems_of(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(InvalidConfig) as info:
        parse_config(text, "s.yaml", env or {})
    return [str(p) for p in info.value.problems]


def test_seven_mistakes_are_reported_in_one_run() -> None:
    # Each of these used to stop the load on its own (YAML builder, pydantic, the
    # cross-checks, the notifiers): fixing them took four runs of `check`.
    text = """\
sources:
  - name: lemonde
    url: https://example.org/feed.xml
    intervall: 10m
    interval: 10m
    interval: 20m
alerts:
  - name: amazon
    query: Amazon "IA
    notify: [mial]
channels:
  mail:
    type: email
    to: [veille@example.org]
    from: monitor@example.org
    subject: "{nope}"
    smtp: {host: smtp.example.org, port: 99999, password: "${SMTP_PASSWORD}"}
"""
    found = problems_of(text)
    expected = [
        "s.yaml:4: sources[0].intervall: unknown key (did you mean 'interval'?)",
        "s.yaml:6: sources[0].interval: duplicate key",
        "s.yaml:9: alerts[0].query: invalid query",
        "s.yaml:10: alerts[0].notify[0]: no channel named 'mial' in channels "
        "(did you mean 'mail'?)",
        "s.yaml:17: channels.mail.smtp.port: Input should be less than or equal to 65535",
        "s.yaml:17: channels.mail.smtp.password: environment variable SMTP_PASSWORD is not set",
    ]
    for words in expected:
        assert any(p.startswith(words) for p in found), (words, found)
    # Sorted by line, one a line, as `check` prints them.
    lines = [int(p.split(":")[1]) for p in found]
    assert lines == sorted(lines)


def test_the_subject_of_a_channel_the_schema_accepts_is_still_checked() -> None:
    text = BASE.replace(
        "    from: monitor@example.org", "    from: m@example.org\n    subject: '{nope}'"
    )
    [problem] = problems_of(text)
    assert problem.startswith("s.yaml:11: channels.mail:") and "nope" in problem


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        (
            "    interval: 10m",
            "    intreval: 10m",
            "sources[0].intreval: unknown key (did you mean 'interval'?)",
        ),
        ("channels:", "chanels: {}\nchannels:", "chanels: unknown key (did you mean 'channels'?)"),
        (
            "    type: webhook",
            "    type: webhok",
            "channels.hook: unknown channel type (did you mean 'webhook'?)",
        ),
        (
            "port: 587}",
            "port: 587, tsl: ssl}",
            "channels.mail.smtp.tsl: unknown key (did you mean 'tls'?)",
        ),
        (
            "    to: [",
            "    too: x\n    to: [",
            "channels.mail.too: unknown key (did you mean 'to'?)",
        ),
        (
            "    notify: [mail]",
            "    notify: [mail]\n    max_ago: 3d",
            "alerts[0].max_ago: unknown key (did you mean 'max_age'?)",
        ),
        (
            "    notify: [mail]",
            "    notify: [mail, hoook]",
            "no channel named 'hoook' in channels (did you mean 'hook'?)",
        ),
        (
            "    notify: [mail]",
            "    notify: [mail]\n    sources: [lemond]",
            "no source named 'lemond' in sources (did you mean 'lemonde'?)",
        ),
    ],
    ids=[
        "source key",
        "top key",
        "channel type",
        "smtp key",
        "email key",
        "alert key",
        "channel name",
        "source name",
    ],
)
def test_near_misses_get_a_did_you_mean(old: str, new: str, words: str) -> None:
    assert old in BASE
    found = problems_of(BASE.replace(old, new, 1))
    assert any(words in p for p in found), found


def test_unknown_key_far_from_any_gets_no_guess() -> None:
    [problem] = problems_of(BASE.replace("    interval: 10m", "    zzz: 1"))
    assert problem == "s.yaml:4: sources[0].zzz: unknown key"


@pytest.mark.parametrize(
    ("old", "new", "field", "value"),
    [
        (
            "to: [veille@example.org]",
            "to: veille@example.org",
            ("mail", "to"),
            ("veille@example.org",),
        ),
        ("notify: [mail]", "notify: mail", None, ("mail",)),
    ],
)
def test_one_string_is_a_list_of_one(
    old: str, new: str, field: tuple[str, str] | None, value: tuple[str, ...]
) -> None:
    config = parse_config(BASE.replace(old, new), "s.yaml", {})
    if field is None:
        assert config.alerts[0].notify == value
    else:
        assert getattr(config.channels[field[0]], field[1]) == value


# What `run` (the notifiers, the fetcher, the scheduler) would refuse or crash on, each
# refused by the schema with its own line: (the edit, the line, words of the message).
REFUSED = [
    ("port: 587}", "port: 99999}", 14, "channels.mail.smtp.port"),
    ("port: 587}", "port: true}", 14, "channels.mail.smtp.port: expected a whole number"),
    ("port: 587}", "port: 587, timeout: -1}", 14, "channels.mail.smtp.timeout"),
    ("to: [veille@example.org]", "to: ['']", 12, "channels.mail.to: an empty string"),
    ("from: monitor@example.org", "from: ''", 13, "channels.mail.from"),
    ("host: smtp.example.org", "host: ''", 14, "channels.mail.smtp.host"),
    (
        "url: https://hooks.example.org/x",
        "url: https://hooks.example.org/x\n    timeout: 0",
        18,
        "channels.hook.timeout: Input should be greater than 0",
    ),
    ("sources:", "fetch: {max_size: -1}\nsources:", 1, "fetch.max_size"),
    ("sources:", "fetch: {max_size: 0}\nsources:", 1, "fetch.max_size"),
    ("sources:", "fetch: {timeout: 0s}\nsources:", 1, "fetch.timeout"),
    ("sources:", "fetch: {connect_timeout: 0}\nsources:", 1, "fetch.connect_timeout"),
    (
        "sources:",
        "fetch: {min_delay: -5}\nsources:",
        1,
        "fetch.min_delay: a duration cannot be negative",
    ),
    ("sources:", 'fetch: {user_agent: "bot\\r\\nX-Evil: 1"}\nsources:', 1, "fetch.user_agent"),
    ("interval: 10m", "interval: 99999999999w", 4, "sources[0].interval: duration out of range"),
    ("interval: 10m", "interval: .inf", 4, "sources[0].interval: duration out of range"),
    ("interval: 10m", "interval: .nan", 4, "sources[0].interval: duration out of range"),
    ("interval: 10m", "interval: 10m\n    max_interval: 99999999w", 5, "sources[0].max_interval"),
    (
        "notify: [mail]",
        "notify: [mail]\n    max_age: 1.0e+300",
        9,
        "alerts[0].max_age: duration out of range",
    ),
    ("sources:", "retention: 99999999999w\nsources:", 1, "retention: duration out of range"),
    (
        "query: Amazon IA",
        'query: "Amazon\\0IA"',
        7,
        "alerts[0].query: contains a control character",
    ),
    ("name: lemonde", "name: '  '", 2, "sources[0].name: a name cannot be blank"),
    (
        "url: https://example.org/feed.xml",
        "url: https://example.org:99999/feed.xml",
        3,
        "sources[0].url: the port must be a number",
    ),
    ("sources:", "synonyms: [[IA, '']]\nsources:", 1, "synonyms[0]: an empty string"),
    ("sources:", "synonyms: [[]]\nsources:", 1, "synonyms: an empty group"),
    ("sources:", "synonyms: [IA, AI]\nsources:", 1, "synonyms[0]: expected a list"),
    ("sources:", "database: monitor.db\nsources:", 1, "database: expected sqlite:///FILE"),
    ("sources:", "database: 'mysql://u@h/db'\nsources:", 1, "database: expected sqlite"),
    (
        "url: https://example.org/feed.xml",
        "url: https://example.org/feed.xml\n    tags: [tech, '']",
        4,
        "sources[0].tags: an empty string",
    ),
]


@pytest.mark.parametrize(("old", "new", "line", "words"), REFUSED, ids=[r[1] for r in REFUSED])
def test_check_refuses_what_run_would(old: str, new: str, line: int, words: str) -> None:
    assert old in BASE
    found = problems_of(BASE.replace(old, new, 1))
    assert any(p.startswith(f"s.yaml:{line}: {words}") for p in found), found


def test_an_unset_variable_is_reported_beside_the_other_mistakes() -> None:
    text = BASE.replace("port: 587}", "port: 587, password: '${NOPE}'}").replace(
        "interval: 10m", "interval: soon"
    )
    found = problems_of(text)
    assert any("NOPE is not set" in p for p in found)
    assert any("sources[0].interval" in p for p in found)


# Malformed files: (name, the file's bytes, a line the message must name or None when
# the file has no line to name, words of the message).
BOMB = b"a: &a [x, x, x, x, x, x, x, x, x, x]\n" + b"".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n".encode()
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)
MALFORMED: list[tuple[str, bytes, int | None, str]] = [
    ("alias bomb", BOMB, 1, "more than 100,000 values"),
    ("tab indent", b"sources:\n\t- name: a\n", 2, "not valid YAML"),
    ("duplicate top key", b"sources: []\nsources: []\n", 2, "duplicate key"),
    ("duplicate channel", b"channels:\n  a: {type: log}\n  a: {type: log}\n", 3, "duplicate key"),
    ("binary", bytes(range(256)) * 4, 2, "not UTF-8"),
    ("png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 1, "not UTF-8"),
    ("empty", b"", 1, "empty"),
    ("comments only", b"# nothing\n# here\n", 1, "empty"),
    ("null document", b"~\n", 1, "must be a mapping"),
    ("control char in UTF-8", b"sources: []\n\x07\n", 2, "control character U+0007"),
    ("deep flow nesting", b"sources: " + b"[" * 100_000, 1, "nesting"),
    ("deep block nesting", b"".join(b" " * i + b"a:\n" for i in range(1200)), None, "nest"),
    ("deep mapping", b"a: " + b"{a: " * 40 + b"1" + b"}" * 40, 1, "nested too deep"),
    ("top-level list", b"- a\n- b\n", 1, "top level must be a mapping"),
    ("top-level scalar", b"hello\n", 1, "top level must be a mapping"),
    ("sources a mapping", b"sources: {a: 1}\n", 1, "sources: expected a list"),
    ("source a string", b"sources: [x]\n", 1, "sources[0]"),
    ("interval a list", b"sources:\n  - {name: a, url: 'https://e.org/', interval: [1]}\n", 2,
     "sources[0].interval: expected a duration"),
    ("bool name", b"sources:\n  - {name: true, url: 'https://e.org/'}\n", 2, "sources[0].name"),
    ("unknown top key", b"colour: red\n", 1, "colour: unknown key"),
    ("unknown nested key", b"fetch: {timout: 1s}\n", 1, "did you mean 'timeout'"),
    ("latin-1", "sources:\n  - name: é\n".encode("latin-1"), 2, "not UTF-8"),
    ("utf-16", "sources: []\n".encode("utf-16"), 1, "not UTF-8"),
    ("NUL byte", b"sources:\n  - name: a\x00b\n", 2, "control character U+0000"),
    ("escape char", b"alerts:\n  - name: \x1b[31mred\n", 2, "control character U+001B"),
    ("quoted NUL", b'sources:\n  - {name: "a\\0", url: "https://e.org/"}\n', 2,
     "contains a control character"),
    ("unclosed quote", b'sources:\n  - name: "a\n', 3, "not valid YAML"),
    ("unclosed bracket", b"sources: [\n", 2, "not valid YAML"),
    ("bad indentation", b"sources:\n  - name: a\n   url: b\n", 3, "not valid YAML"),
    ("mapping key", b"? [a, b]\n: c\n", 1, "a key must be a plain word"),
    ("unknown tag", b"sources: !!python/object:os.system [ls]\n", 1, "YAML tag"),
    ("bad timestamp", b"retention: !!timestamp nope\n", 1, "retention"),
    ("huge integer", b"max_concurrency: " + b"9" * 5000 + b"\n", 1, "max_concurrency"),
    ("undefined alias", b"sources: *nope\n", 1, "not valid YAML"),
    ("two documents", b"sources: []\n---\nalerts: []\n", 2, "not valid YAML"),
    ("fifty megabytes", b"# " + b"x" * (50 * 2**20) + b"\n", None, "larger than 1 MiB"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "line", "words"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_files_exit_2_with_a_line_in_bounded_time_and_memory(
    tmp_path: Path, run_cli: Callable[..., Result], content: bytes, line: int | None, words: str
) -> None:
    path = tmp_path / "sources.yaml"
    path.write_bytes(content)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    res = run_cli("check", "--config", str(path))
    elapsed = time.perf_counter() - started
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert res.code == 2, (res.code, res.out, res.err)
    assert "Traceback" not in res.err
    assert words in res.err, res.err
    where = f"{path}:{line}:" if line else f"{path}"
    assert where in res.err, res.err
    if line is None and "larger than" not in words:
        assert f"{path}:" in res.err  # some line, whichever
    assert elapsed < 5, f"{elapsed:.1f} s"
    assert grown_mb < 150, f"peak RSS grew by {grown_mb:.0f} MB"


def test_a_directory_is_named_as_such(tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    res = run_cli("check", "--config", str(tmp_path))
    assert res.code == 2 and f"{tmp_path}: is a directory" in res.err


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_pipe_or_a_device_is_refused_without_blocking(
    tmp_path: Path, run_cli: Callable[..., Result], kind: str
) -> None:
    path = tmp_path / "sources.yaml"
    if kind == "fifo":
        os.mkfifo(path)  # no writer: opening it would wait for ever
    else:
        path = Path("/dev/zero")  # reading it would never end
    started = time.perf_counter()
    res = run_cli("check", "--config", str(path))
    assert res.code == 2 and f"{path}: not a regular file" in res.err
    assert time.perf_counter() - started < 5


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("sources: []\n")
    path.chmod(0)
    try:
        with open(path) as f:  # root reads anything: nothing to show then
            f.read()
        pytest.skip("running as root: every file is readable")
    except PermissionError:
        pass
    with pytest.raises(ConfigError, match="cannot read: Permission denied"):
        load_config(path)


def test_a_byte_order_mark_is_not_a_mistake(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"\xef\xbb\xbfsources: []\n")
    assert load_config(path, env={}).sources == ()


def test_at_least_thirty_malformed_files() -> None:
    assert len(MALFORMED) + 1 >= 30  # the directory has its own test


@pytest.mark.parametrize(("key", "value"), [("timezone", "Mars/Olympus"), ("digest", "sometimes")])
def test_a_bad_digest_schedule_names_its_own_line(key: str, value: str) -> None:
    text = BASE.replace("    type: webhook", f"    type: webhook\n    {key}: {value}")
    [problem] = problems_of(text)
    assert problem.startswith(f"s.yaml:17: channels.hook.{key}:"), problem


def test_shared_settings_merge_from_an_x_key() -> None:
    text = """\
x-feed: &feed
  interval: 15m
  tags: tech
sources:
  - <<: *feed
    name: a
    url: https://example.org/a
  - <<: *feed
    name: b
    url: https://example.org/b
    interval: 1h
"""
    config = parse_config(text, "s.yaml", {})
    assert [(s.interval.total_seconds(), s.tags) for s in config.sources] == [
        (900, ("tech",)),
        (3600, ("tech",)),  # its own key wins
    ]
    [problem] = problems_of(text.replace("  - <<: *feed\n    name: a", "  - <<: 5\n    name: a"))
    assert problem.startswith("s.yaml:5: sources[0]: `<<` must merge a mapping")


def test_listening_beyond_loopback_without_a_token_is_refused_by_check() -> None:
    # `run` refuses to start so (web.check_bind); `check` says so first.
    [problem] = problems_of("http: {listen: '0.0.0.0:9100'}\n")
    assert problem.startswith("s.yaml:1: http: listening on 0.0.0.0 (not loopback) needs a token")
    for fine in ("http: {listen: '127.0.0.1:9100'}\n", "http: {listen: 'localhost:9100'}\n"):
        assert parse_config(fine, "s.yaml", {}).http.listen
    token = "http: {listen: '0.0.0.0:9100', token: 0123456789abcdef0123}\n"
    assert parse_config(token, "s.yaml", {}).http.token


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("channels: []\n", "s.yaml:1: channels: expected a mapping (key: value lines)"),
        ("fetch: 5\n", "s.yaml:1: fetch: expected a mapping (key: value lines)"),
        (
            "alerts: [{name: a, query: x, notify: []}]\n",
            "s.yaml:1: alerts[0].notify: cannot be empty",
        ),
        (
            "channels: {c: {to: x}}\n",
            "s.yaml:1: channels.c: a channel needs a type (one of apprise, email, log, webhook)",
        ),
        (
            "channels: {h: {type: webhook, url: 'https://h.example.org/', secret: 5}}\n",
            "s.yaml:1: channels.h.secret: expected a string or a list of strings",
        ),
    ],
)
def test_a_wrong_shape_is_said_in_yaml_words(text: str, message: str) -> None:
    assert problems_of(text) == [message]


def test_a_blank_user_agent_from_an_unset_variable_means_the_default() -> None:
    config = parse_config('fetch: {user_agent: "${UA:-}"}\n', "s.yaml", {})
    assert config.fetch.user_agent is None


@pytest.mark.parametrize("value", ["-1", "65", "yes", "two"])
def test_extract_processes_out_of_range_is_named(value: str) -> None:
    (problem,) = problems_of(f"extract_processes: {value}\n" + BASE)
    assert problem.startswith("s.yaml:1: extract_processes: ")


def test_extract_processes_defaults_to_one_worker_per_spare_core() -> None:
    config = parse_config(BASE)
    assert config.extract_processes is None
    assert config.page_processes() == (1 if (os.cpu_count() or 1) > 1 else 0)
    assert parse_config("extract_processes: 0\n" + BASE).page_processes() == 0
    assert parse_config("extract_processes: 3\n" + BASE).page_processes() == 3
