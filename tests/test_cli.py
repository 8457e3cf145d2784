"""The command line as an operator and a script use it: options anywhere, usage errors
that name the option, each command's own help, JSON for scripts, completion, colour and
progress bars only on a terminal."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
import yaml

from monitor import __version__
from monitor.rules import article_keys
from monitor.store import NewAlert, NewArticle, open_store
from tests.clikit import Result

ROOT = Path(__file__).resolve().parents[1]
Run = Callable[..., Result]

CONFIG = """\
database: sqlite:///{db}
sources:
  - name: wire
    url: https://news.example.org/feed.xml
    interval: 1m
  - name: steady
    url: https://news.example.org/steady.xml
    interval: 10m
    adaptive: false
alerts:
  - name: watch
    query: story
    notify: console
channels:
  console:
    type: log
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "monitor.db"))
    return path


def seed_alert(config: Path) -> str:
    """One stored article with one pending alert; returns the alert's id."""
    db = yaml.safe_load(config.read_text())["database"]
    store = open_store(db)
    when = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    url = "https://news.example.org/story-1"
    article = NewArticle(
        url_key="k1", url=url, canonical_url=url, source="wire", title="Story one",
        body="A story", first_seen=when, fingerprint="fp1",
        search_keys=article_keys("Story one", "A story", "en"),
        title_keys=article_keys("Story one", "", "en"),
    )  # fmt: skip
    payload = {
        "alert": "watch", "query": "story", "matched": ["story"],
        "article": {"url": url, "title": "Story one", "source": "wire",
                    "published": when.isoformat(), "language": "en", "snippet": "Story"},
    }  # fmt: skip
    try:
        inserted = store.insert_article(article, [NewAlert("watch", "console", payload)])
        assert inserted
        [alert_id] = inserted.alert_ids
        return alert_id
    finally:
        store.close()


@pytest.mark.parametrize(
    "argv",
    [
        ("check", "--config", "{config}"),
        ("--config", "{config}", "check"),
        ("check", "--log-level", "debug", "--config", "{config}"),
        ("--log-format", "json", "check", "--config", "{config}", "--log-level", "WARNING"),
        ("rules", "test", "story", "--config", "{config}", "--since", "1d"),
        ("alerts", "--config", "{config}", "list", "--log-level", "INFO"),
    ],
    ids=lambda a: " ".join(a),
)
def test_global_options_work_before_or_after_the_command(
    run_cli: Run, config: Path, argv: tuple[str, ...]
) -> None:
    res = run_cli(*(a.format(config=config) for a in argv))
    assert res.code == 0, res.err


def test_an_option_given_before_the_command_is_not_undone_after_it(
    run_cli: Run, config: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("colour: red\n")
    # The later --config wins; the earlier one is not reset to the default by the subcommand.
    assert run_cli("--config", str(other), "check", "--config", str(config)).code == 0
    assert run_cli("--config", str(other), "check").code == 2
    res = run_cli("alerts", "--status", "dead", "list", "--config", str(config), "--json")
    assert res.code == 0 and json.loads(res.out) == []


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (("search", "Amazon", "--since", "banana"), "argument --since: 'banana'"),
        (("rules", "test", "Amazon", "--since", "99999999999w"), "argument --since"),
        (("--log-level", "LOUD", "status"), "argument --log-level: 'LOUD'"),
        (("status", "--log-level", "LOUD"), "argument --log-level: 'LOUD'"),
        (("--log-format", "xml", "check"), "argument --log-format: invalid choice"),
        (("search", "x", "--limit", "ten"), "argument --limit: 'ten' is not a whole number"),
        (("fetch", "wire", "--limit", "0"), "argument --limit: '0': must be at least 1"),
        (("alerts", "--status", "lost"), "argument --status: invalid choice"),
        (("run", "--http", "nowhere"), "argument --http: 'nowhere'"),
        (("web", "--http", "127.0.0.1:99999"), "argument --http"),
        (("completion", "powershell"), "argument shell: invalid choice"),
        (("db", "downgrade"), "invalid choice: 'downgrade'"),
        (("frobnicate",), "invalid choice: 'frobnicate'"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else None,
)
def test_a_bad_value_is_a_usage_error_naming_the_option(
    run_cli: Run, config: Path, argv: tuple[str, ...], words: str
) -> None:
    res = run_cli(*argv, "--config", str(config))
    assert res.code == 2, (res.code, res.err)
    assert words in res.err, res.err
    assert "Traceback" not in res.err and "usage: monitor" in res.err


@pytest.mark.parametrize(
    ("argv", "usage", "words"),
    [
        (("alerts", "retry", "--help"), "usage: monitor alerts retry", "alert_id"),
        (("db", "upgrade", "--help"), "usage: monitor db upgrade", "latest revision"),
        (("rules", "test", "--help"), "usage: monitor rules test", "--since"),
        (("alerts", "list", "--help"), "usage: monitor alerts list", "--json"),
        (("check", "--help"), "usage: monitor check", "--json"),
        (("search", "--help"), "usage: monitor search", "--config FILE"),
    ],
)
def test_each_subcommand_has_its_own_help(
    run_cli: Run, argv: tuple[str, ...], usage: str, words: str
) -> None:
    res = run_cli(*argv)
    assert res.code == 0
    assert res.out.startswith(usage) and words in res.out, res.out


def test_version(run_cli: Run) -> None:
    res = run_cli("--version")
    assert res.code == 0 and res.out.strip() == f"news-monitor {__version__}"


def test_retrying_an_alert_that_does_not_exist_says_so(run_cli: Run, config: Path) -> None:
    seed_alert(config)
    res = run_cli("alerts", "retry", "msg_doesnotexist", "--config", str(config))
    assert res.code == 1
    assert "no alert with id 'msg_doesnotexist'" in res.err
    assert "queued" not in res.out


def test_alerts_json_is_one_array_a_script_can_read(run_cli: Run, config: Path) -> None:
    alert_id = seed_alert(config)
    res = run_cli("alerts", "--json", "--config", str(config))
    assert res.code == 0, res.err
    [row] = json.loads(res.out)
    assert row["id"] == alert_id and row["rule"] == "watch" and row["channel"] == "console"
    assert row["status"] == "pending" and row["title"] == "Story one"
    assert row["url"] == "https://news.example.org/story-1"
    assert datetime.fromisoformat(row["created"]).tzinfo is not None
    retried = run_cli("alerts", "retry", alert_id, "--config", str(config))
    assert retried.code == 0 and "1 alert(s) queued" in retried.out
    dead = run_cli("alerts", "list", "--status", "dead", "--json", "--config", str(config))
    assert json.loads(dead.out) == []


def test_check_prints_each_sources_effective_polling_range(run_cli: Run, config: Path) -> None:
    res = run_cli("check", "--config", str(config))
    assert res.code == 0, res.err
    wire = next(line for line in res.out.splitlines() if line.strip().startswith("wire"))
    assert "every 1m to 6m (adaptive)" in wire  # interval 1m: the ceiling is 6 x 1m
    steady = next(line for line in res.out.splitlines() if line.strip().startswith("steady"))
    assert "every 10m " in steady and "adaptive" not in steady


def test_check_json_reports_the_config_or_every_error(
    run_cli: Run, config: Path, tmp_path: Path
) -> None:
    res = run_cli("check", "--json", "--config", str(config))
    assert res.code == 0, res.err
    report = json.loads(res.out)
    assert report["ok"] is True and report["errors"] == []
    wire = next(s for s in report["sources"] if s["name"] == "wire")
    assert (wire["min_interval_seconds"], wire["max_interval_seconds"]) == (60, 360)
    assert report["channels"] == [{"name": "console", "type": "log", "target": ""}]

    bad = tmp_path / "bad.yaml"
    bad.write_text(config.read_text().replace("interval: 1m", "intervall: 1m"))
    res = run_cli("check", "--json", "--config", str(bad))
    assert res.code == 2
    report = json.loads(res.out)
    assert report["ok"] is False
    assert report["errors"] == [
        {
            "file": str(bad),
            "line": 5,
            "key": "sources[0].intervall",
            "message": "unknown key (did you mean 'interval'?)",
        }
    ]


def test_check_warns_about_an_unchecked_smtp_certificate(run_cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "channels:\n  mail:\n    type: email\n    to: a@example.org\n    from: b@example.org\n"
        "    smtp: {host: smtp.example.org, verify: false}\n"
    )
    res = run_cli("check", "--config", str(path))
    assert res.code == 0, res.err
    assert "warning: channels.mail.smtp.verify is false" in res.out
    report = json.loads(run_cli("check", "--json", "--config", str(path)).out)
    assert any("verify is false" in w for w in report["warnings"])


@pytest.mark.parametrize(
    ("smtp", "words"),
    [("port: 465, tls: starttls", "port 465 speaks TLS"), ("port: 587, tls: ssl", "port 587")],
)
def test_check_warns_about_a_port_that_does_not_fit_the_tls_mode(
    run_cli: Run, tmp_path: Path, smtp: str, words: str
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "channels:\n  mail:\n    type: email\n    to: a@example.org\n    from: b@example.org\n"
        f"    smtp: {{host: smtp.example.org, {smtp}}}\n"
    )
    res = run_cli("check", "--config", str(path))
    assert res.code == 0 and f"warning: channels.mail.smtp: {words}" in res.out, res.out


def test_schema_is_the_committed_one_and_validates_the_bundled_file(run_cli: Run) -> None:
    res = run_cli("schema")
    assert res.code == 0
    schema = json.loads(res.out)
    committed = json.loads((ROOT / "docs" / "sources.schema.json").read_text())
    assert schema == committed, "docs/sources.schema.json is stale: monitor schema > it"
    jsonschema.Draft202012Validator.check_schema(schema)
    bundled = (ROOT / "sources.yaml").read_text()
    assert bundled.splitlines()[0] == "# yaml-language-server: $schema=./docs/sources.schema.json"
    jsonschema.validate(yaml.safe_load(bundled), schema)
    # What an editor would flag: an unknown key, a wrong type, a malformed duration.
    for wrong in (
        {"sources": [{"name": "a", "url": "https://e.org/", "colour": "red"}]},
        {"max_concurrency": "many"},
        {"sources": [{"name": "a", "url": "https://e.org/", "interval": "10 minutes"}]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong, schema)
    # What the loader accepts, the schema does too: one string for a list.
    jsonschema.validate({"alerts": [{"name": "a", "query": "x", "notify": "console"}]}, schema)


def _complete(script: str, words: list[str]) -> list[str]:
    """What bash offers after ``words`` (the last one is being typed)."""
    line = " ".join(f"'{w}'" for w in words)
    program = f"""{script}
COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; COMPREPLY=()
_monitor
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_bash_completion_offers_commands_options_and_choices(run_cli: Run) -> None:
    res = run_cli("completion", "bash")
    assert res.code == 0
    script = res.out
    assert {"run", "check", "alerts", "schema", "completion"} <= set(
        _complete(script, ["monitor", ""])
    )
    assert _complete(script, ["monitor", "al"]) == ["alerts"]
    assert {"list", "retry", "--status", "--json"} <= set(
        _complete(script, ["monitor", "alerts", ""])
    )
    assert _complete(script, ["monitor", "alerts", "--status", ""]) == [
        "pending", "queued", "digest", "sent", "failed", "dead",
    ]  # fmt: skip
    assert "DEBUG" in _complete(script, ["monitor", "check", "--log-level", ""])
    assert "--once" in _complete(script, ["monitor", "--config", "x.yaml", "run", "--"])
    assert _complete(script, ["monitor", "db", ""])[0] == "upgrade"


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_are_valid(run_cli: Run, shell: str) -> None:
    res = run_cli("completion", shell)
    assert res.code == 0 and "monitor" in res.out
    if shell == "fish":
        assert "complete -c monitor" in res.out and "-l status" in res.out
    else:
        assert res.out.startswith("autoload -U +X bashcompinit && bashcompinit")
    binary = shutil.which(shell)
    if binary is None:
        if os.environ.get("MONITOR_REQUIRE_SHELLS"):  # CI installs both: a skip is a miss
            pytest.fail(f"{shell} is not installed and MONITOR_REQUIRE_SHELLS is set")
        pytest.skip(f"{shell} is not installed: only the script's shape is checked")
    done = subprocess.run([binary, "-n"], input=res.out, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _on_a_terminal(
    argv: list[str], env: dict[str, str], cwd: Path, *, stdout_too: bool = True
) -> tuple[str, str]:
    """Run ``monitor`` with stderr (and stdout, unless ``stdout_too`` is false: then a
    pipe) on a pseudo-terminal; returns (what the terminal showed, what the pipe got)."""
    leader, follower = pty.openpty()
    # A new pty is 0 columns wide, and tqdm fits its bar in that: give it a real size.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    full_env.update(env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", *argv], stdin=subprocess.DEVNULL,
        stdout=follower if stdout_too else subprocess.PIPE, stderr=follower, env=full_env,
        cwd=cwd,
    )  # fmt: skip
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the child closed its end
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    piped = ""
    if proc.stdout is not None:
        with proc.stdout:
            piped = proc.stdout.read().decode()
    proc.wait(timeout=10)
    os.close(leader)
    return b"".join(chunks).decode(errors="replace"), piped


def test_colour_on_a_terminal_unless_no_color(config: Path, tmp_path: Path) -> None:
    env = {"TERM": "xterm"}
    argv = ["check", "--config", str(config)]
    coloured, _ = _on_a_terminal(argv, {**env, "NO_COLOR": ""}, tmp_path)
    assert "\x1b[32mok\x1b[0m" in coloured
    plain, _ = _on_a_terminal(argv, {**env, "NO_COLOR": "1"}, tmp_path)
    assert "ok" in plain and "\x1b[" not in plain
    # Piped, no colour either, though the terminal allows it.
    _, piped = _on_a_terminal(argv, env, tmp_path, stdout_too=False)
    assert ": ok" in piped and "\x1b[" not in piped


def test_progress_bars_only_on_a_terminal_and_on_stderr(
    run_cli: Run, config: Path, tmp_path: Path
) -> None:
    seed_alert(config)
    # Not a terminal (the in-process run captures both streams): no bar anywhere.
    replay = ["rules", "test", "watch", "--since", "3650d", "--config", str(config)]
    res = run_cli(*replay)
    assert res.code == 0, res.err
    assert "\r" not in res.err and "article/s" not in res.err and "\r" not in res.out
    # stderr on a terminal, stdout piped: the bar is drawn on the terminal only.
    shown, piped = _on_a_terminal(replay, {"TERM": "xterm"}, tmp_path, stdout_too=False)
    assert "0/1 [" in shown and "article/s" in shown, shown
    assert "Story one" in piped and "\r" not in piped and "article/s" not in piped


def test_check_never_prints_a_password_from_a_source_url(run_cli: Run, config: Path) -> None:
    config.write_text(
        config.read_text().replace("https://news.example.org/feed.xml",
                                   "https://reader:hunter2-secret@news.example.org/feed.xml")
    )  # fmt: skip
    for argv in (("check",), ("check", "--json")):
        res = run_cli(*argv, "--config", str(config))
        assert res.code == 0, res.err
        assert "hunter2" not in res.out + res.err and "news.example.org/feed.xml" in res.out


def test_check_warns_about_a_webhook_without_its_secret(run_cli: Run, config: Path) -> None:
    text = config.read_text().replace("notify: console", "notify: [console, hook]")
    config.write_text(
        text + "  hook:\n    type: webhook\n    url: https://hooks.example.org/x\n"
        '    secret: "${HOOK_SECRET:-}"\n'
    )
    res = run_cli("check", "--config", str(config))
    assert res.code == 0, res.err
    assert "warning: channels.hook has no secret" in res.out
    res = run_cli("check", "--config", str(config), env={"HOOK_SECRET": "s3cret"})
    assert "warning" not in res.out


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("cannot fetch https://bob:hunter2@news.example.org/feed", "https://bob:***@news.example.org/feed"),
        ("db postgresql://u:p@ss%2Fw@db.example.org/x down", "postgresql://u:***@db.example.org/x"),
        ("a malformed http://[zz:hunter2@x link", "http://[zz:***@x"),
    ],
)  # fmt: skip
def test_error_messages_lose_the_password_of_any_url_they_quote(message: str, shown: str) -> None:
    from monitor.cli._table import scrub

    assert shown in scrub(message) and "hunter2" not in scrub(message)
    assert "ss%2Fw" not in scrub(message)
