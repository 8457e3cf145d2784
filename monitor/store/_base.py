"""The store's common ground: its tables, its engine, helpers every part uses."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from monitor.store._engine import make_engine, migrate
from monitor.store._models import StoredArticle
from monitor.store._tables import metadata

sources_t: sa.Table = metadata.tables["sources"]
stories_t: sa.Table = metadata.tables["stories"]
articles_t: sa.Table = metadata.tables["articles"]
outbox_t: sa.Table = metadata.tables["outbox"]
channels_t: sa.Table = metadata.tables["channels"]
story_bands_t: sa.Table = metadata.tables["story_bands"]
rules_t: sa.Table = metadata.tables["rules"]
rule_state_t: sa.Table = metadata.tables["rule_state"]

# Errors are kept for `monitor status`; a whole HTML error page is not useful there.
MAX_ERROR = 500


def alert_id(rule: str, story_id: int, channel: str) -> str:
    """The alert's stable id: the same (rule, story, channel) always gets the same one.

    The only alert-id function: the outbox keys its rows by it, and it becomes the
    webhook's ``webhook-id`` and the email's Message-ID, so receivers can drop repeats.
    """
    digest = hashlib.sha256(f"{rule}\x1f{story_id}\x1f{channel}".encode()).digest()
    return "msg_" + base64.b32encode(digest[:15]).decode().lower()


class StoreBase:
    """The database: one engine, migrated on demand."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = make_engine(url)
        self.dialect = self.engine.dialect.name

    def migrate(self) -> None:
        migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def _insert(self, table: sa.Table) -> Any:
        # Both dialects spell ON CONFLICT DO NOTHING ... RETURNING the same way.
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)


def bulk_upsert(
    conn: Connection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    key: str,
    update: Sequence[str],
    *,
    sqlite_insert: Any = None,
) -> None:
    """Insert ``rows`` (all with the same keys), updating ``update`` where ``key``
    exists. PostgreSQL: one statement whatever the count, each column one array
    (``INSERT ... SELECT unnest(...), ...``): 100k rows in one round trip, where
    executemany sent 100k statements and a VALUES list made psycopg parse a query of
    100k placeholders. SQLite: executemany with ``sqlite_insert`` (the dialect's insert)."""
    if not rows:
        return
    names = list(rows[0])
    if conn.dialect.name != "postgresql":
        stmt = sqlite_insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=[key], set_={c: stmt.excluded[c] for c in update}
        )
        conn.execute(stmt, list(rows))
        return
    columns = [
        sa.func.unnest(
            sa.bindparam(
                f"u_{name}", [r[name] for r in rows], type_=postgresql.ARRAY(table.c[name].type)
            )
        ).label(name)
        for name in names
    ]
    # Python-side column defaults (error_count=0, ...) are rendered into the SELECT.
    stmt = postgresql.insert(table).from_select(names, sa.select(*columns), include_defaults=True)
    conn.execute(
        stmt.on_conflict_do_update(index_elements=[key], set_={c: stmt.excluded[c] for c in update})
    )


def stored_article_columns() -> list[sa.Column[Any]]:
    """The articles columns a StoredArticle is read from, in its fields' order: derived
    from the dataclass, so a new field cannot be read in one query and missed in another."""
    return [articles_t.c[f.name] for f in fields(StoredArticle)]


def by_url_key(
    conn: Connection, keys: Sequence[str], *columns: sa.Column[Any]
) -> dict[str, tuple[Any, ...]]:
    """``columns`` of each stored article among the url ``keys``, read in chunks (an IN
    list of thousands of keys is slow on both engines), on the caller's connection."""
    found: dict[str, tuple[Any, ...]] = {}
    for start in range(0, len(keys), 500):
        chunk = list(keys[start : start + 500])
        rows = conn.execute(
            sa.select(articles_t.c.url_key, *columns).where(articles_t.c.url_key.in_(chunk))
        )
        found.update((row[0], tuple(row[1:])) for row in rows)
    return found


def aware_utc(value: object) -> datetime | None:
    # min() over a UTCDateTime column comes back as the column's own type on
    # PostgreSQL but as a bare value on SQLite; accept both.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def outlets_of(conn: Connection, story_ids: set[int]) -> dict[int, tuple[str, ...]]:
    """The sources that carried each story, in the order they published it."""
    if not story_ids:
        return {}
    rows = conn.execute(
        sa.select(articles_t.c.story_id, articles_t.c.source)
        .where(articles_t.c.story_id.in_(story_ids))
        .order_by(articles_t.c.id)
    )
    out: dict[int, list[str]] = {}
    for story_id, source in rows:
        names = out.setdefault(story_id, [])
        if source not in names:
            names.append(source)
    return {k: tuple(v) for k, v in out.items()}
