"""Shared fixtures: databases (SQLite always, PostgreSQL when it answers), paths, the CLI."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from monitor.store import Store
from tests.clikit import Result, call_main
from tests.sitekit import MailSink, mail_sink

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MONITOR_SHARED", ROOT.parent / "shared"))
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_admin_url() -> str:
    return os.environ.get("MONITOR_TEST_POSTGRES_URL", DEFAULT_PG)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end.

    Skips when PostgreSQL does not answer, unless MONITOR_REQUIRE_POSTGRES is set (CI),
    where an unreachable server is a failure, never a silent skip.
    """
    import psycopg

    admin = _pg_admin_url().replace("postgresql+psycopg://", "postgresql://")
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("MONITOR_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL required but unreachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    name = f"monitor_t_{uuid.uuid4().hex[:10]}"
    with conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    try:
        yield f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each store test runs on SQLite and on PostgreSQL (a clean schema every time)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'monitor.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    _reset_pg(url)
    yield url


def _reset_pg(url: str) -> None:
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture
def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """``run_cli(*argv, env=..., cwd=...)``: the ``monitor`` command, in process.

    For what needs no process of its own: signals, crashes and a daemon running while
    the test acts still go through ``python -m monitor`` (test_scheduler, crashkit).
    """
    from monitor.cli import main

    def run(*argv: str, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Result:
        return call_main(main, argv, capsys, monkeypatch, env, cwd)

    return run


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated store on each of ``db_url``'s databases (a module may define its own)."""
    s = Store(db_url)
    s.migrate()
    yield s
    s.close()


@pytest.fixture
def mail() -> Iterator[MailSink]:
    """A local SMTP server that keeps what it receives."""
    with mail_sink() as sink:
        yield sink
