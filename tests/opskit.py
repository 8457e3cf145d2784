"""Helpers for the operations and outage tests: a sources.yaml around the fixture site,
``run --once`` in its own process, the outbox as SQLite holds it, and a PostgreSQL
server of the module's own."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faultserver import FaultServer
from tests.pgserver import PgServer
from tests.pgserver import unavailable as pg_unavailable
from tests.sitekit import serve_site


def config_text(site: FaultServer, channel: str, *, database: str = "sqlite:///monitor.db") -> str:
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


def run_once(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``monitor run --once`` in its own process: a hang is a timeout, not a stuck suite."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MONITOR_", "WEBHOOK_"))}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args, "run", "--once"],
        cwd=cwd, env={**base, **(env or {})}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def outbox(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute("SELECT alert_id, status FROM outbox ORDER BY id"))


@pytest.fixture
def site() -> Iterator[FaultServer]:
    """The news site of tests/sitekit.py on a local server."""
    with FaultServer() as server:
        serve_site(server)
        yield server


@pytest.fixture(scope="module")
def own_pg() -> Iterator[PgServer]:
    """A PostgreSQL server of this module's own (password auth on), never 5432's."""
    why = pg_unavailable()
    if why:
        if os.environ.get("MONITOR_REQUIRE_POSTGRES"):
            pytest.fail(why)
        pytest.skip(why)
    server = PgServer()
    try:
        server.start()
        yield server
    finally:
        server.close()
