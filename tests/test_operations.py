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
