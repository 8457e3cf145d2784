"""What an operator relies on: ``run --once`` ends and says what failed, secrets stay out
of every log line and output, the database files are private, storage faults map to
exit 3, and ``monitor status`` tells which daemons are alive.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faultserver import FaultServer, Reply
from tests.sitekit import HOOK_SECRET, serve_site


@pytest.fixture
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        serve_site(server)
        yield server


def _config(site: FaultServer, channel: str, *, database: str = "sqlite:///monitor.db") -> str:
    return f"""\
allow_private_networks: true
database: {database}
fetch: {{min_delay: 0s, timeout: 3s}}
sources:
  - name: qdn-tech
    url: {site.url("/fr/rss.xml")}
alerts:
  - name: amazon-ia-licenciements
    query: Amazon IA licenciements
    notify: [team]
channels:
  team:
{channel}
"""


def _once(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``monitor run --once`` in its own process: a hang is a timeout, not a stuck suite."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MONITOR_", "WEBHOOK_"))}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args, "run", "--once"],
        cwd=cwd, env={**base, **(env or {})}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _outbox(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute("SELECT alert_id, status FROM outbox ORDER BY id"))


# --- run --once ends, whatever the channels' states -------------------------------------


def test_run_once_ends_when_its_webhook_is_gone_and_reports_the_queued_alert(
    tmp_path: Path, site: FaultServer
) -> None:
    site.route("/hook", Reply(b"gone", status=410))
    channel = f"    type: webhook\n    url: {site.url('/hook')}\n    secret: {HOOK_SECRET}"
    (tmp_path / "sources.yaml").write_text(_config(site, channel))
    started = time.monotonic()
    done = _once(tmp_path)
    assert time.monotonic() - started < 30, "run --once spun on a disabled channel"
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "1 alert not sent" in last and "channel team disabled" in last, last
    assert site.hits("/hook") == 1  # tried once, then left alone
    # The alert stays queued for when the channel is fixed, never dropped.
    assert [s for _, s in _outbox(tmp_path / "monitor.db")] == ["failed"]


def test_run_once_ends_with_the_bundled_webhook_and_no_secret_set(
    tmp_path: Path, site: FaultServer
) -> None:
    site.route("/hook", Reply(b"", status=204))
    channel = (
        f'    type: webhook\n    url: {site.url("/hook")}\n    secret: "${{WEBHOOK_SECRET:-}}"'
    )
    (tmp_path / "sources.yaml").write_text(_config(site, channel))
    done = _once(tmp_path)
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "1 alert not sent" in last and "has no secret" in last, last
    assert site.hits("/hook") == 0
    assert [s for _, s in _outbox(tmp_path / "monitor.db")] == ["failed"]
    # Set the secret: the next run sends the alert left queued, once.
    done = _once(tmp_path, env={"WEBHOOK_SECRET": HOOK_SECRET})
    assert done.returncode == 0, done.stderr
    assert site.hits("/hook") == 1
    assert [s for _, s in _outbox(tmp_path / "monitor.db")] == ["sent"]


def test_run_once_exits_1_when_every_source_failed(tmp_path: Path, site: FaultServer) -> None:
    site.route("/fr/rss.xml", Reply(b"down", status=503))
    (tmp_path / "sources.yaml").write_text(_config(site, "    type: log"))
    done = _once(tmp_path)
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("1 of 1 source failed"), last


def test_run_once_exits_0_when_all_went_out(tmp_path: Path, site: FaultServer) -> None:
    (tmp_path / "sources.yaml").write_text(_config(site, "    type: log"))
    done = _once(tmp_path)
    assert done.returncode == 0, done.stderr
    assert [s for _, s in _outbox(tmp_path / "monitor.db")] == ["sent"]


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
        _config(site, channel, database=f"sqlite:///{db}")
    )
    cwd = small_disk.parent
    migrated = subprocess.run(
        [sys.executable, "-m", "monitor", "db", "upgrade"], cwd=cwd, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert migrated.returncode == 0, migrated.stderr
    filler = _fill(small_disk, leave)

    full = _once(cwd)
    assert full.returncode == 3, full.stderr
    assert "Traceback" not in full.stderr
    last = full.stderr.strip().splitlines()[-1]
    assert "database" in last and ("disk is full" in last or "disk I/O error" in last), last
    assert set(_hook_ids(site).values()) <= {1}

    filler.unlink()  # space returns (SQLite cannot even read a WAL database without it)
    assert _integrity(db) == "ok"
    done = _once(cwd)
    assert done.returncode == 0, done.stderr
    assert _integrity(db) == "ok"
    ids = _hook_ids(site)
    # The fixture feed has one article the alert matches: one alert, received once.
    assert len(ids) == 1 and set(ids.values()) == {1}, ids
    again = _once(cwd)  # nothing new, nothing sent twice
    assert again.returncode == 0, again.stderr
    assert _hook_ids(site) == ids
