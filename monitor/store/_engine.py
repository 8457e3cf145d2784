"""Engines for SQLite and PostgreSQL, and migration to the latest Alembic revision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import make_url

from monitor.errors import StoreError

# The alembic/ folder sits beside the package in a checkout and in the Docker image,
# which installs the project from its source tree.
ALEMBIC_DIR = Path(__file__).resolve().parents[2] / "alembic"

# Writers on SQLite wait this long for each other instead of failing at once.
SQLITE_BUSY_MS = 30_000


def normalize_url(url: str) -> str:
    """Let users write postgresql:// and still get psycopg 3, the driver we ship."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def is_postgres(url: str) -> bool:
    """Whether this database URL names PostgreSQL (an invalid URL is not)."""
    try:
        return make_url(normalize_url(url)).get_backend_name() == "postgresql"
    except sa.exc.ArgumentError:
        return False


def libpq_url(url: str) -> str:
    """The URL as libpq (psycopg's own pools, e.g. Procrastinate's) takes it."""
    parsed = make_url(normalize_url(url)).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        raise StoreError(
            "database URL is not valid (expected sqlite:///FILE or postgresql://...)"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    raise StoreError(
        f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql"
    )


def _sqlite_engine(url: str) -> Engine:
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so BEGIN IMMEDIATE below is ours:
        # a deferred transaction that later writes can fail with SQLITE_BUSY without
        # waiting, which is how concurrent writers lose work.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def migrate(engine: Engine) -> None:
    """Bring the database to the latest Alembic revision (idempotent)."""
    from alembic.config import Config as AlembicConfig

    from alembic import command

    if not ALEMBIC_DIR.is_dir():
        raise StoreError(f"migrations folder not found at {ALEMBIC_DIR}")
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two daemons starting together must not both run the same migration.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7130001)")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
