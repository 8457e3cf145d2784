"""Alembic environment: targets monitor.store's metadata.

``monitor run`` passes its own connection in ``config.attributes["connection"]``; the
``alembic`` command line uses MONITOR_DATABASE_URL, else alembic.ini's URL.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from sqlalchemy import Connection

from alembic import context
from monitor.store import make_engine, metadata

config = context.config


# The search index (alembic 0002) is built in SQL the metadata cannot describe: an FTS5
# table and its shadow tables on SQLite; on PostgreSQL a generated tsvector column, which
# SQLite has no type for, and its GIN index.
# The near-copy index's GIN index (alembic 0003) has options the metadata does not
# describe, and its table exists on PostgreSQL alone: SQLite keeps that index in memory.
_SEARCH_INDEX = ("articles_search", "ix_articles_search_tsv", "search_tsv", "ix_story_bands_bands")
_POSTGRES_ONLY = ("story_bands", "ix_story_bands_created")


# Procrastinate's job tables (alembic 0004, PostgreSQL) are its own, not in the metadata.
_PROCRASTINATE = "procrastinate_"


def _include_for(dialect: str) -> Callable[[object, str | None, str, bool, object], bool]:
    def include(
        obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
    ) -> bool:
        if name is None:
            return True
        if dialect != "postgresql" and name in _POSTGRES_ONLY:
            return False
        return not (reflected and name.startswith((*_SEARCH_INDEX, _PROCRASTINATE)))

    return include


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        include_object=_include_for(connection.dialect.name),
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
