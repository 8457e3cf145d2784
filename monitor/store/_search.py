"""Search candidates: the articles holding a query's keys, found by the database's index.

The keys come from the rules (``Query.prefilter``, a ``KeyQuery`` tree); they are
matched here against ``articles.search_keys`` through PostgreSQL's GIN index over
``array_to_tsvector(string_to_array(search_keys, ' '))`` or SQLite's FTS5 table
``articles_search`` (alembic 0002). The tree is rendered as a ``tsquery`` or an FTS5
query with every key quoted, so no key is ever read as an operator.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from monitor.store._base import StoreBase, articles_t
from monitor.store._models import StoredArticle
from monitor.text import EVERYTHING, KeyAll, KeyQuery, KeyTerm

# The expression the GIN index is built on: a query must spell it the same way for
# PostgreSQL to use the index.
PG_KEYS = "array_to_tsvector(string_to_array(articles.search_keys, ' '))"

_COLUMNS = ("id", "url", "source", "title", "body", "language", "published", "first_seen",
            "story_id")  # fmt: skip


def tsquery(query: KeyQuery) -> str:
    """``query`` as PostgreSQL tsquery text: 'key', 'key':* for a prefix, & and |."""
    if isinstance(query, KeyTerm):
        quoted = "'" + query.token.replace("\\", "\\\\").replace("'", "''") + "'"
        return quoted + ":*" if query.prefix else quoted
    joiner = " & " if isinstance(query, KeyAll) else " | "
    return "(" + joiner.join(tsquery(part) for part in query.parts) + ")"


def fts5_query(query: KeyQuery) -> str:
    """``query`` as an FTS5 MATCH expression: "key", "key"* for a prefix, AND and OR."""
    if isinstance(query, KeyTerm):
        quoted = '"' + query.token.replace('"', '""') + '"'
        return quoted + "*" if query.prefix else quoted
    joiner = " AND " if isinstance(query, KeyAll) else " OR "
    return "(" + joiner.join(fts5_query(part) for part in query.parts) + ")"


class SearchOps(StoreBase):
    """Archive search on the database's own full-text machinery."""

    def search_candidates(
        self, query: KeyQuery, since: datetime | None = None, batch: int = 500
    ) -> Iterator[list[StoredArticle]]:
        """The articles that may match ``query``, in batches, most recently stored first.

        Every article the query's rule matches is among them (the index only rules out
        what cannot match); ``query == EVERYTHING`` reads every article. Each batch is
        one short read: the next starts below the last id seen, so writers are never
        held up by a long search.
        """
        below: int | None = None
        while True:
            stmt, order = self._candidates(query, since)
            stmt = stmt.order_by(order.desc()).limit(batch)
            if below is not None:
                stmt = stmt.where(order < below)
            with self.engine.connect() as conn:
                rows = conn.execute(stmt).all()
            if not rows:
                return
            yield [StoredArticle(*row) for row in rows]
            if len(rows) < batch:
                return
            below = int(rows[-1][0])

    def count_candidates(self, query: KeyQuery, since: datetime | None = None) -> int:
        """How many articles :meth:`search_candidates` would give."""
        inner = self._candidates(query, since)[0].subquery()
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(inner)).scalar_one())

    def _candidates(
        self, query: KeyQuery, since: datetime | None
    ) -> tuple[sa.Select[Any], sa.ColumnElement[int]]:
        """The candidates' select, and the id column to order and page it by."""
        a = articles_t.c
        stmt = sa.select(*(a[name] for name in _COLUMNS))
        if since is not None:
            stmt = stmt.where(a.first_seen >= since)
        if query == EVERYTHING:
            return stmt, a.id
        if self.dialect == "postgresql":
            match = sa.text(f"{PG_KEYS} @@ CAST(:keys AS tsquery)")
            return stmt.where(match.bindparams(keys=tsquery(query))), a.id
        # FTS5 drives the join: it walks its rowids (the article ids) newest first and
        # stops at the batch, where an IN (...) would collect every match each time.
        stmt = stmt.select_from(_FTS.join(articles_t, a.id == _FTS.c.rowid))
        match = sa.text("articles_search MATCH :keys").bindparams(keys=fts5_query(query))
        return stmt.where(match), _FTS.c.rowid


_FTS = sa.table("articles_search", sa.column("rowid", sa.Integer))


__all__ = ["PG_KEYS", "SearchOps", "fts5_query", "tsquery"]
