"""Engines for SQLite and PostgreSQL, and migration to the latest Alembic revision."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine
from sqlalchemy.engine.url import make_url

from monitor.errors import StoreError
from monitor.text import redact_url

# The alembic/ folder sits beside the package in a checkout and in the Docker image,
# which installs the project from its source tree.
ALEMBIC_DIR = Path(__file__).resolve().parents[2] / "alembic"

# Writers on SQLite wait this long for each other instead of failing at once.
SQLITE_BUSY_MS = 30_000


def normalize_url(url: str) -> str:
    """Let users write postgresql:// and still get psycopg 3, the driver we ship; and a
    password with "/", "@" or "%" written as is, escaping it as a URL needs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("postgresql+"):
        url = _escape_password(url)
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


def _escape_password(url: str) -> str:
    """``scheme://user:p/w@x%y@host/db`` as ``scheme://user:p%2Fw%40x%25y@host/db``.

    The password runs from the first ":" after the user to the last "@" before the
    host. One already escaped (only %XX escapes and characters a URL allows there) is
    kept as it is, so escaping it by hand, as libpq's docs say, works too.
    """
    scheme, sep, rest = url.partition("://")
    at = rest.rfind("@")
    if not sep or at < 0 or ":" not in rest[:at]:
        return url
    user, _, password = rest[:at].partition(":")
    if "/" in user or _ESCAPED.fullmatch(password):
        return url
    return f"{scheme}://{user}:{quote(password, safe='')}@{rest[at + 1 :]}"


# A password as a URL carries it: unreserved characters, sub-delims and %XX escapes.
_ESCAPED = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")


def display_url(url: str) -> str:
    """The database URL as the user wrote it, its password (however written) ``***``."""
    shown = redact_url(url)
    if any(form in shown for form in password_forms(url)):
        return make_url(normalize_url(url)).render_as_string(hide_password=True)
    return shown


def password_forms(url: str) -> tuple[str, ...]:
    """The password of a database URL as written, escaped and unescaped: every form an
    error message could quote (for the log redactor)."""
    try:
        password = make_url(normalize_url(url)).password
    except (sa.exc.ArgumentError, ValueError):
        return ()
    if not password:
        return ()
    return tuple({password, quote(password, safe=""), quote(password)})


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        raise StoreError(
            "database URL is not valid (expected sqlite:///FILE or postgresql://...)"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=10)
    raise StoreError(
        f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql"
    )


def _private(path: str | None) -> None:
    """The database and its -wal/-shm files readable by their owner only (0600): they
    hold every article and alert, and SQLite creates -wal/-shm with the main file's mode.
    A new file is created 0600 before SQLite opens it; existing ones are narrowed."""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    main = Path(path)
    if not main.parent.is_dir():
        return  # SQLite's own error says so
    try:
        fd = os.open(main, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        for file in (main, Path(f"{path}-wal"), Path(f"{path}-shm")):
            if file.exists() and stat.S_IMODE(file.stat().st_mode) & 0o077:
                file.chmod(0o600)
    except OSError:
        return  # not ours to change (a read-only mount, another owner): SQLite decides


def _sqlite_engine(url: URL) -> Engine:
    _private(url.database)
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
    # env.py migrates on the connection given below; the URL is only informative, and
    # without its password: ConfigParser would read a "%" in it as interpolation.
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string().replace("%", "%%"))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two daemons starting together must not both run the same migration.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7130001)")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
