"""Other links to a stored article: one article, one row.

A feed may link one page through a redirector, with extra query parameters, or by a
URL the page itself names otherwise in ``rel=canonical``. The article row keeps the
url key of the link it was first stored from; every other key it is known by (its
page's canonical URL, later links to that page) is a row of ``article_aliases``, so
``known_keys`` skips those links without fetching them again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.store._base import StoreBase, articles_t
from monitor.store._tables import metadata

aliases_t: sa.Table = metadata.tables["article_aliases"]


class AliasOps(StoreBase):
    """The alias table's reads and writes."""

    def alias_to(self, url_key: str, canonical_key: str) -> int | None:
        """When an article is stored under ``canonical_key`` (its url key or one of its
        aliases), record ``url_key`` as another of its keys and return its id; None when
        no article has that key (the caller stores a new one)."""
        with self.engine.begin() as conn:
            return alias_in(conn, self._insert, url_key, canonical_key)


def alias_in(conn: Connection, insert: Any, url_key: str, canonical_key: str) -> int | None:
    """``AliasOps.alias_to`` in the caller's transaction (a batch of inserts shares one)."""
    article_id = _owner(conn, canonical_key)
    if article_id is not None:
        record_alias(conn, insert, url_key, article_id)
    return article_id


def record_alias(conn: Connection, insert: Any, url_key: str, article_id: int) -> None:
    """``url_key`` as another key of the article ``article_id`` (idempotent), in the
    caller's transaction; ``insert`` is the dialect's insert (``StoreBase._insert``)."""
    if conn.execute(sa.select(articles_t.c.id).where(articles_t.c.url_key == url_key)).first():
        return  # the article's own key, or another article's: never an alias
    stmt = insert(aliases_t).values(url_key=url_key, article_id=article_id)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["url_key"]))


def _owner(conn: Connection, key: str) -> int | None:
    """The article stored under ``key``, its own url key or one of its aliases."""
    row = conn.execute(sa.select(articles_t.c.id).where(articles_t.c.url_key == key)).first()
    if row is None:
        row = conn.execute(
            sa.select(aliases_t.c.article_id).where(aliases_t.c.url_key == key)
        ).first()
    return int(row[0]) if row is not None else None


def aliased_keys(conn: Connection, keys: Sequence[str]) -> dict[str, datetime | None]:
    """The keys among ``keys`` that are aliases, each with its article's version stamp."""
    found: dict[str, datetime | None] = {}
    join = aliases_t.join(articles_t, articles_t.c.id == aliases_t.c.article_id)
    for start in range(0, len(keys), 500):
        chunk: list[Any] = list(keys[start : start + 500])
        rows = conn.execute(
            sa.select(aliases_t.c.url_key, articles_t.c.updated)
            .select_from(join)
            .where(aliases_t.c.url_key.in_(chunk))
        )
        found.update((row[0], row[1]) for row in rows)
    return found
