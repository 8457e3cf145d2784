"""What an operator relies on: ``run --once`` ends and says what failed, secrets stay out
of every log line and output, the database files are private, and ``monitor status``
tells which daemons are alive. Storage faults: test_outages.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from monitor.alerts import AlertMessage, AlertPayload, ArticleInfo, Templates
from monitor.pipeline._health import notice_text
from monitor.store import (
    NewAlert,
    SourceSpec,
    Store,
    beat,
    channel_statuses,
    daemon_statuses,
    open_store,
    sign_off,
)
from tests import opskit, sitekit
from tests.clikit import Result
from tests.faultserver import Exchange, FaultServer, Reply
from tests.opskit import config_text, outbox, run_once
from tests.pgserver import PgServer
from tests.sitekit import HOOK_SECRET

own_pg = opskit.own_pg
site = opskit.site


# --- run --once ends, whatever the channels' states -------------------------------------


def test_run_once_ends_when_its_webhook_is_gone_and_reports_the_queued_alert(
    tmp_path: Path, site: FaultServer
) -> None:
    site.route("/hook", Reply(b"gone", status=410))
    channel = f"    type: webhook\n    url: {site.url('/hook')}\n    secret: {HOOK_SECRET}"
    (tmp_path / "sources.yaml").write_text(config_text(site, channel))
    started = time.monotonic()
    done = run_once(tmp_path)
    assert time.monotonic() - started < 30, "run --once spun on a disabled channel"
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "1 alert not sent" in last and "channel team disabled" in last, last
    assert site.hits("/hook") == 1  # tried once, then left alone
    # The alert stays queued for when the channel is fixed, never dropped.
    assert [s for _, s in outbox(tmp_path / "monitor.db")] == ["failed"]


def test_run_once_ends_with_the_bundled_webhook_and_no_secret_set(
    tmp_path: Path, site: FaultServer
) -> None:
    site.route("/hook", Reply(b"", status=204))
    channel = (
        f'    type: webhook\n    url: {site.url("/hook")}\n    secret: "${{WEBHOOK_SECRET:-}}"'
    )
    (tmp_path / "sources.yaml").write_text(config_text(site, channel))
    done = run_once(tmp_path)
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "1 alert not sent" in last and "has no secret" in last, last
    assert site.hits("/hook") == 0
    assert [s for _, s in outbox(tmp_path / "monitor.db")] == ["failed"]
    # Set the secret: the next run sends the alert left queued, once.
    done = run_once(tmp_path, env={"WEBHOOK_SECRET": HOOK_SECRET})
    assert done.returncode == 0, done.stderr
    assert site.hits("/hook") == 1
    assert [s for _, s in outbox(tmp_path / "monitor.db")] == ["sent"]


def test_run_once_exits_1_when_every_source_failed(tmp_path: Path, site: FaultServer) -> None:
    site.route("/fr/rss.xml", Reply(b"down", status=503))
    (tmp_path / "sources.yaml").write_text(config_text(site, "    type: log"))
    done = run_once(tmp_path)
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("1 of 1 source failed"), last


def test_run_once_exits_0_when_all_went_out(tmp_path: Path, site: FaultServer) -> None:
    (tmp_path / "sources.yaml").write_text(config_text(site, "    type: log"))
    done = run_once(tmp_path)
    assert done.returncode == 0, done.stderr
    assert [s for _, s in outbox(tmp_path / "monitor.db")] == ["sent"]
    # A run from cron shows in status as a daemon that ran and stopped.
    with sqlite3.connect(tmp_path / "monitor.db") as conn:
        beats = conn.execute("SELECT pid, stopped IS NOT NULL FROM heartbeats").fetchall()
    assert len(beats) == 1 and beats[0][1] == 1, beats


# --- secrets -------------------------------------------------------------------------

SOURCE_PASSWORD = "hunter2-src-secret"
APPRISE_TOKEN = "apprisetokenABC123"


def _leaks(text: str, *secrets: str) -> list[str]:
    return [s for s in secrets if s in text]


def test_source_credentials_stay_out_of_logs_check_and_fetch(
    tmp_path: Path, site: FaultServer, run_cli: Callable[..., Result]
) -> None:
    site.route("/hook", Reply(b"", status=500))
    origin = site.origin.replace("http://", f"http://alice:{SOURCE_PASSWORD}@")
    config = f"""\
allow_private_networks: true
database: sqlite:///monitor.db
fetch: {{min_delay: 0s, timeout: 3s}}
sources:
  - name: private-feed
    url: {origin}/fr/rss.xml
  - name: private-missing
    url: {origin}/nowhere.xml
  - name: private-down
    url: http://alice:{SOURCE_PASSWORD}@127.0.0.1:9/feed.xml
alerts:
  - name: amazon-ia-licenciements
    query: Amazon IA licenciements
    notify: [chat]
channels:
  chat:
    type: apprise
    urls: ["json://127.0.0.1:{site.port}/hook/{APPRISE_TOKEN}"]
"""
    (tmp_path / "sources.yaml").write_text(config)
    # The daemon logs at DEBUG: Apprise's own lines (its request URLs carry the token)
    # are held to WARNING and pass the redactor.
    ran = run_cli("--log-level", "DEBUG", "run", "--once", cwd=tmp_path)
    assert "poll failed" in ran.err and "private-down" in ran.err
    assert "alert delivery failed" in ran.err  # the receiver answered 500
    assert _leaks(ran.out + ran.err, SOURCE_PASSWORD, APPRISE_TOKEN) == []
    assert "alice:***@" in ran.err
    checked = run_cli("check", cwd=tmp_path)
    assert checked.code == 0 and "private-feed" in checked.out
    assert _leaks(checked.out + checked.err, SOURCE_PASSWORD, APPRISE_TOKEN) == []
    fetched = run_cli("fetch", "private-feed", cwd=tmp_path)
    assert fetched.code == 0 and "alice:***@" in fetched.out
    assert _leaks(fetched.out + fetched.err, SOURCE_PASSWORD) == []
    shown = run_cli("status", cwd=tmp_path)
    assert _leaks(shown.out + shown.err, SOURCE_PASSWORD, APPRISE_TOKEN) == []


def test_a_listing_page_fetched_with_credentials_stores_its_links_without_them(
    tmp_path: Path, site: FaultServer, run_cli: Callable[..., Result]
) -> None:
    # Relative links on a page fetched as alice:password@ resolve with her credentials:
    # the fetch needs them, the stored article and its alert must not carry them.
    links = "".join(
        f'<article><h2><a href="{path}">Un article du jour sur le sujet {n} que suit la'
        " rédaction</a></h2></article>"
        for n, path in enumerate(sitekit.PAGES)
    )
    listing = f"<html><body><main>{links}</main></body></html>".encode()
    site.route("/fr/", Reply(listing, headers={"Content-Type": "text/html; charset=utf-8"}))
    received: list[bytes] = []

    def hook(exchange: Exchange) -> None:
        received.append(exchange.request.body)
        exchange.respond(204)

    site.route("/hook", hook)
    origin = site.origin.replace("http://", f"http://alice:{SOURCE_PASSWORD}@")
    (tmp_path / "sources.yaml").write_text(f"""\
allow_private_networks: true
database: sqlite:///monitor.db
fetch: {{min_delay: 0s, timeout: 3s}}
sources:
  - {{name: private-page, kind: page, url: "{origin}/fr/"}}
alerts:
  - {{name: amazon, query: Amazon, notify: [hook]}}
channels:
  hook: {{type: webhook, url: "{site.origin}/hook", secret: s3cret-hook-value}}
""")
    ran = run_cli("run", "--once", cwd=tmp_path)
    assert ran.code == 0, ran.err
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        stored = [
            row[0] + " " + row[1] for row in db.execute("SELECT url, canonical_url FROM articles")
        ]
    assert len(stored) == len(sitekit.PAGES), stored  # every link was fetched, with her credentials
    assert received and all(SOURCE_PASSWORD.encode() not in body for body in received)
    assert _leaks(" ".join(stored), SOURCE_PASSWORD) == [] and "alice" not in " ".join(stored)


def test_the_log_redactor_blanks_url_passwords_and_held_secrets() -> None:
    from monitor.observe import Redactor

    redactor = Redactor()
    redactor.hold([APPRISE_TOKEN, 'quo"te-secret'])
    line = (
        f"GET https://u:{SOURCE_PASSWORD}@h.example/x token={APPRISE_TOKEN} "
        'error="quo\\"te-secret" postgresql://m:p/w@x%y@db.example:5432/n'
    )
    out = redactor(line)
    assert _leaks(out, SOURCE_PASSWORD, APPRISE_TOKEN, "quo", "p/w@x%y") == [], out
    assert "https://u:***@h.example/x" in out and "postgresql://m:***@db.example:5432/n" in out
    # A port followed by a path starting with @ is no password.
    assert redactor("https://medium.com:443/@user") == "https://medium.com:443/@user"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sqlite_files_are_created_0600_and_existing_ones_narrowed(tmp_path: Path) -> None:
    from monitor.store import open_store, source_statuses

    db = tmp_path / "monitor.db"
    store = open_store(f"sqlite:///{db}")
    try:
        source_statuses(store, datetime.now(UTC))
        files = [p for p in tmp_path.iterdir() if p.name.startswith("monitor.db")]
        assert {p.name for p in files} >= {"monitor.db", "monitor.db-wal", "monitor.db-shm"}
        assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
    finally:
        store.close()
    # A database created by an older version (0644) is narrowed on the next open.
    db.chmod(0o644)
    store = open_store(f"sqlite:///{db}")
    store.close()
    assert _mode(db) == 0o600


# --- PostgreSQL: passwords that need escaping, outages --------------------------------

ODD_PASSWORD = "p/w@x%y"


@pytest.fixture
def odd_role(own_pg: PgServer) -> Iterator[str]:
    """A role whose password is ``p/w@x%y`` and its own database; dropped after."""
    own_pg.psql(f"CREATE ROLE monitor_odd LOGIN PASSWORD '{ODD_PASSWORD}'")
    own_pg.psql("CREATE DATABASE monitor_odd OWNER monitor_odd")
    try:
        yield "monitor_odd"
    finally:
        own_pg.psql("DROP DATABASE IF EXISTS monitor_odd WITH (FORCE)")
        own_pg.psql("DROP ROLE IF EXISTS monitor_odd")


@pytest.mark.parametrize("escaped", [True, False], ids=["escaped", "as-is"])
def test_a_postgres_password_that_needs_escaping_works_and_is_never_printed(
    tmp_path: Path,
    site: FaultServer,
    own_pg: PgServer,
    odd_role: str,
    run_cli: Callable[..., Result],
    escaped: bool,
) -> None:
    url = own_pg.url(odd_role, ODD_PASSWORD, odd_role, escape=escaped)
    forms = (ODD_PASSWORD, quote(ODD_PASSWORD, safe=""))
    (tmp_path / "sources.yaml").write_text(config_text(site, "    type: log", database=url))
    for argv in (("db", "upgrade"), ("run", "--once"), ("status",), ("check",)):
        res = run_cli(*argv, cwd=tmp_path)
        assert res.code == 0, (argv, res.err)
        assert _leaks(res.out + res.err, *forms) == [], argv
    assert own_pg.psql("SELECT status FROM outbox", db=odd_role).split() == ["sent"]
    # MONITOR_DATABASE_URL takes the same URL; a wrong password is exit 3, unprinted.
    wrong = url.replace(quote(ODD_PASSWORD, safe="") if escaped else ODD_PASSWORD, "n%2Fope")
    res = run_cli("status", cwd=tmp_path, env={"MONITOR_DATABASE_URL": wrong})
    assert res.code == 3 and "password authentication failed" in res.err, res.err
    assert _leaks(res.out + res.err, *forms, "n%2Fope", "n/ope") == [], res.err


# --- status: daemons, channel errors, health notices ----------------------------------

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = open_store(db_url)
    yield s
    s.close()


def test_heartbeats_tell_alive_stopped_and_gone_daemons(store: Store) -> None:
    beat(store, "h1:10:aa", "h1", 10, T0, T0)
    beat(store, "h2:20:bb", "h2", 20, T0, T0)
    beat(store, "h1:10:aa", "h1", 10, T0 + timedelta(minutes=5), T0 + timedelta(minutes=5))
    sign_off(store, "h2:20:bb", T0 + timedelta(minutes=1))
    beat(store, "h3:30:cc", "h3", 30, T0, T0)  # then killed: no more beats, no sign-off
    now = T0 + timedelta(minutes=5, seconds=10)
    got = {d.host: (d.state, d.started, d.pid) for d in daemon_statuses(store, now)}
    assert got == {"h1": ("alive", T0, 10), "h2": ("stopped", T0, 20), "h3": ("gone", T0, 30)}
    assert daemon_statuses(store, now)[0].host == "h1"  # alive ones first
    # A week later the dead are forgotten on the next beat.
    later = T0 + timedelta(days=8)
    beat(store, "h1:10:aa", "h1", 10, T0, later)
    assert [d.host for d in daemon_statuses(store, later)] == ["h1"]


def test_a_channel_error_clears_on_its_next_success(store: Store) -> None:
    store.sync_sources([SourceSpec("s", "https://example.org/feed", "feed", 600)], T0)
    (claimed,) = store.claim_due(T0, "me", timedelta(minutes=5), 10)
    notices = [(f"id{i}", NewAlert("source-health", "team", "{}")) for i in range(2)]
    store.queue_notices(claimed.id, True, notices, T0)
    first, second = store.claim_outbox(T0, timedelta(minutes=2), 10, ["team"])
    store.mark_failed(first.id, T0, "HTTP 503 from the receiver", T0 + timedelta(minutes=1))
    (team,) = channel_statuses(store, ["team"])
    assert team.last_error == "HTTP 503 from the receiver"
    store.mark_sent(second.id, T0 + timedelta(seconds=5))
    (team,) = channel_statuses(store, ["team"])
    assert team.last_error is None and team.last_success == T0 + timedelta(seconds=5)


def test_health_notices_say_since_when_for_how_long_and_why() -> None:
    since = datetime(2026, 12, 2, 6, 30, tzinfo=UTC)
    now = since + timedelta(hours=6, minutes=5)
    title, body = notice_text("lemonde", since, now, recovered=False, error="HTTP 503")
    assert title == "Source lemonde has been failing for 6 h 5 min: HTTP 503"
    assert body.startswith(
        "Source lemonde has been failing since 2026-12-02 06:30 UTC, for 6 h 5 min now. "
        "Its last error: HTTP 503."
    )
    title, body = notice_text("lemonde", since, now, recovered=True)
    assert title == "Source lemonde is back after 6 h 5 min of failures"
    assert "failing since 2026-12-02 06:30 UTC, for 6 h 5 min" in body
    # A notice right after the threshold is not "0.0 h".
    title, _ = notice_text("x", since, since + timedelta(seconds=40), recovered=False, error="e")
    assert "for 40 s" in title
    # Its message carries no empty "Query:" line.
    payload = AlertPayload(
        "source-health", "", ("failing",),
        ArticleInfo(url="https://example.org/feed", title=title, source="x", published=now,
                    language=None, snippet=body, snippet_html=""),
    )  # fmt: skip
    text = Templates().alert(AlertMessage.from_payload("msg_x", payload, None, now)).text
    assert "Query:" not in text and body in text


def _status_json(cwd: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "status", "--json"], cwd=cwd, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_status_shows_the_running_daemon_then_that_none_runs(
    tmp_path: Path, site: FaultServer, run_cli: Callable[..., Result]
) -> None:
    (tmp_path / "sources.yaml").write_text(config_text(site, "    type: log"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run"], cwd=tmp_path, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until its first poll queued the alert
            with contextlib.suppress(sqlite3.OperationalError):  # not migrated yet
                if (tmp_path / "monitor.db").exists() and outbox(tmp_path / "monitor.db"):
                    break
            time.sleep(0.2)
        doc = _status_json(tmp_path)
        assert [(d["pid"], d["state"]) for d in doc["daemons"]] == [(proc.pid, "alive")]
        assert [s["name"] for s in doc["sources"]] == ["qdn-tech"] and doc["sources"][0]["ok"]
        assert doc["channels"][0]["name"] == "team"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    doc = _status_json(tmp_path)
    assert [(d["pid"], d["state"]) for d in doc["daemons"]] == [(proc.pid, "stopped")]
    # Its source's next check passes with no daemon left: status says so, not "1m ago".
    with sqlite3.connect(tmp_path / "monitor.db") as conn:
        conn.execute("UPDATE sources SET next_check = '2020-01-01 00:00:00'")
    shown = run_cli("status", cwd=tmp_path)
    assert shown.code == 0
    row = next(line for line in shown.out.splitlines() if line.startswith("qdn-tech"))
    assert "no daemon" in row, row  # the NEXT column; it read "2190d ago" before
    assert "stopped" in shown.out and "no daemon is running" in shown.out
