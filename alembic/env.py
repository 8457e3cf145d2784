"""Alembic environment: targets monitor.store's metadata.

``monitor run`` passes its own connection in ``config.attributes["connection"]``; the
``alembic`` command line uses MONITOR_DATABASE_URL, else alembic.ini's URL.
"""

from __future__ import annotations

import os

from sqlalchemy import Connection

from alembic import context
from monitor.store import make_engine, metadata

config = context.config


# The search index (alembic 0002) is built in SQL the metadata cannot describe: an FTS5
# table and its shadow tables on SQLite; on PostgreSQL a generated tsvector column, which
# SQLite has no type for, and its GIN index.
_SEARCH_INDEX = ("articles_search", "ix_articles_search_tsv", "search_tsv")


# Procrastinate's job tables (alembic 0003w, PostgreSQL) are its own, not in the metadata.
_PROCRASTINATE = "procrastinate_"


def _include(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    ours = name is None or not name.startswith((*_SEARCH_INDEX, _PROCRASTINATE))
    return not reflected or ours


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        include_object=_include,
        # SQLite cannot ALTER most things in place; batch mode copies the table.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    url = os.environ.get("MONITOR_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set MONITOR_DATABASE_URL or sqlalchemy.url in alembic.ini")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_online()
