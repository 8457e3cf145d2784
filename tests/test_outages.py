"""Storage faults while the monitor works: SQLite on a full disk (a small tmpfs of the
test's own), PostgreSQL (a server of the test's own) stopped mid-run. Each ends in the
documented exit code or a daemon that rides it out, nothing lost, nothing doubled.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests import opskit
from tests.crashkit import GrowingSite, HookReceiver, monitor_env
from tests.faultserver import Delay, FaultServer, Reply
from tests.opskit import config_text, run_once
from tests.pgserver import PgServer
from tests.sitekit import HOOK_SECRET, free_port

own_pg = opskit.own_pg
site = opskit.site


# --- storage faults ------------------------------------------------------------------


def _hook_ids(site: FaultServer) -> Counter[str]:
    """Alerts the webhook receiver accepted, counted per id (a repeat shows as 2)."""
    return Counter(r.headers["webhook-id"] for r in site.requests_to("/hook"))


def _integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs of its own, so the test can fill it without touching anyone else's."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (mount -t tmpfs)")
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(disk: Path, leave: int = 0) -> Path:
    """Take every free block of ``disk`` but ``leave`` bytes (unbuffered writes: the last
    one is the one refused)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        if leave:
            os.ftruncate(fd, max(os.fstat(fd).st_size - leave, 0))
        os.close(fd)
    return filler


@pytest.mark.parametrize(
    "leave",
    [0, 64 * 1024, 160 * 1024],
    ids=["full-at-start", "full-at-first-article", "full-after-first-article"],
)
def test_sqlite_on_a_full_disk_fails_with_exit_3_loses_nothing_and_resumes(
    small_disk: Path, site: FaultServer, leave: int
) -> None:
    site.route("/hook", Reply(b"", status=204))
    channel = f"    type: webhook\n    url: {site.url('/hook')}\n    secret: {HOOK_SECRET}"
    db = small_disk / "monitor.db"
    (small_disk.parent / "sources.yaml").write_text(
        config_text(site, channel, database=f"sqlite:///{db}")
    )
    cwd = small_disk.parent
    migrated = subprocess.run(
        [sys.executable, "-m", "monitor", "db", "upgrade"], cwd=cwd, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert migrated.returncode == 0, migrated.stderr
    filler = _fill(small_disk, leave)

    full = run_once(cwd)
    assert full.returncode == 3, full.stderr
    assert "Traceback" not in full.stderr
    last = full.stderr.strip().splitlines()[-1]
    assert "database" in last and ("disk is full" in last or "disk I/O error" in last), last
    assert set(_hook_ids(site).values()) <= {1}

    filler.unlink()  # space returns (SQLite cannot even read a WAL database without it)
    assert _integrity(db) == "ok"
    done = run_once(cwd)
    assert done.returncode == 0, done.stderr
    assert _integrity(db) == "ok"
    ids = _hook_ids(site)
    # The fixture feed has one article the alert matches: one alert, received once.
    assert len(ids) == 1 and set(ids.values()) == {1}, ids
    again = run_once(cwd)  # nothing new, nothing sent twice
    assert again.returncode == 0, again.stderr
    assert _hook_ids(site) == ids


# --- PostgreSQL stopped while the daemon runs ------------------------------------


def _healthz(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except OSError:
        return 0


def _until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Wait for ``check``; returns how long it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def test_postgres_down_while_the_daemon_runs_then_back_loses_and_doubles_nothing(
    tmp_path: Path, own_pg: PgServer
) -> None:
    # Down for 8 s here, not the 30 s of the issue: the path is the same (every tick
    # fails, /healthz says 503), only the wait is shorter.
    down_for = 8.0
    own_pg.psql("CREATE ROLE monitor_out LOGIN PASSWORD 'outage-pw'")
    own_pg.psql("CREATE DATABASE monitor_out OWNER monitor_out")
    hooks = HookReceiver(fail_every=0)
    with FaultServer() as server:
        site = GrowingSite(server, feeds=1, total=40, every=3.0, initial=2)
        server.route("/hook", hooks)
        # The first articles answer slowly: the first poll is in flight when the
        # database goes, and its outcome cannot be recorded.
        html = {"Content-Type": "text/html; charset=utf-8"}
        for i in (0, 1):
            server.route(f"/articles/{i}", Delay(2.0, Reply(site._page(i), headers=html)))
        port = free_port()
        (tmp_path / "sources.yaml").write_text(
            f"database: {own_pg.url('monitor_out', 'outage-pw', 'monitor_out')}\n"
            "allow_private_networks: true\nfetch: {min_delay: 0s, timeout: 5s}\n"
            f"sources:\n  - {{name: gazette, url: '{site.feed_urls()[0]}', interval: 30s,"
            " adaptive: false, language: fr}\n"
            "alerts:\n  - {name: amazon, query: Amazon IA licenciements, notify: [ops-hook]}\n"
            f"channels:\n  ops-hook: {{type: webhook, url: '{server.url('/hook')}', "
            f"secret: {HOOK_SECRET}, timeout: 5}}\n"
        )
        log = (tmp_path / "daemon.log").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--http", f"127.0.0.1:{port}"],
            cwd=tmp_path, env=monitor_env(), stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        try:
            _until(lambda: server.requests_to("/articles/0"), 30, "the first poll's articles")
            assert _healthz(port) == 200
            own_pg.stop("fast")
            went_down = time.monotonic()
            _until(lambda: _healthz(port) == 503, 10, "/healthz 503 while PostgreSQL is down")
            while time.monotonic() - went_down < down_for:
                assert proc.poll() is None, "the daemon died with its database"
                time.sleep(0.5)
            own_pg.start()
            _until(lambda: _healthz(port) == 200, 20, "/healthz 200 once PostgreSQL is back")
            # The interrupted poll is taken up again at once (not when its 5 min lease
            # ends), and what was published meanwhile is polled, stored and alerted.
            _until(lambda: site.published() >= 12, 40, "the site to grow")
            published = site.freeze()
            wanted = {site.url(i) for i in range(0, published, 2)}
            _until(lambda: {d.url for d in hooks.accepted} >= wanted, 75, "every alert")
            time.sleep(6)  # a delivery round or two more: any repeat would show now
            assert proc.poll() is None
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
    per_id = Counter(d.alert_id for d in hooks.accepted)
    assert set(per_id.values()) == {1}, per_id  # none doubled
    assert {d.url for d in hooks.accepted} == wanted  # none lost, none extra
    assert all(not d.problem for d in hooks.accepted)
    text = (tmp_path / "daemon.log").read_text()
    assert "database unavailable" in text and "Traceback" not in text, text[-3000:]
    assert 'event="poll not recorded"' in text  # the path this test is about
    assert "outage-pw" not in text
    assert proc.returncode == 0


def test_an_alert_sent_as_postgres_goes_down_is_recorded_once_it_is_back(
    tmp_path: Path, own_pg: PgServer
) -> None:
    """The receiver holds its 204 while PostgreSQL stops: the send succeeded, its record
    cannot be written. Given up, the alert would stay leased and go out again once the
    lease ends (2 min); the daemon waits the outage out and records it sent."""
    own_pg.psql("CREATE ROLE monitor_mark LOGIN PASSWORD 'mark-pw'")
    own_pg.psql("CREATE DATABASE monitor_mark OWNER monitor_mark")
    hooks = HookReceiver(fail_every=0, hold=3.0)
    with FaultServer() as server:
        site = GrowingSite(server, feeds=1, total=1, every=0, initial=1)
        server.route("/hook", hooks)
        (tmp_path / "sources.yaml").write_text(
            f"database: {own_pg.url('monitor_mark', 'mark-pw', 'monitor_mark')}\n"
            "allow_private_networks: true\nfetch: {min_delay: 0s, timeout: 5s}\n"
            f"sources:\n  - {{name: gazette, url: '{site.feed_urls()[0]}', interval: 30s}}\n"
            "alerts:\n  - {name: amazon, query: Amazon IA licenciements, notify: [ops-hook]}\n"
            f"channels:\n  ops-hook: {{type: webhook, url: '{server.url('/hook')}', "
            f"secret: {HOOK_SECRET}, timeout: 10}}\n"
        )
        log = (tmp_path / "daemon.log").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run"], cwd=tmp_path, env=monitor_env(),
            stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        try:
            _until(lambda: hooks.in_flight == 1, 30, "the receiver holding the alert")
            own_pg.stop("fast")
            time.sleep(5)
            own_pg.start()
            status = lambda: own_pg.psql("SELECT status FROM outbox", db="monitor_mark").split()  # noqa: E731
            _until(lambda: status() == ["sent"], 20, "the alert recorded as sent")
            time.sleep(6)
            assert len(hooks.accepted) == 1
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
    assert "sent, not recorded yet" in (tmp_path / "daemon.log").read_text()
