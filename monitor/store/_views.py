"""Read-side queries for the web view: stories, one story, deliveries, articles per day.

Each returns plain dataclasses and runs in one connection; paging is by offset, which
is cheap at the sizes a monitor keeps (its retention prunes the rest) and lets a page
link to any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.store._base import articles_t, outbox_t, outlets_of, stored_article_columns, stories_t
from monitor.store._models import Delivery, StoredArticle, StoryDetail, StorySummary
from monitor.store._store import Store, store_errors


@store_errors
def list_stories(store: Store, limit: int = 20, offset: int = 0) -> tuple[list[StorySummary], int]:
    """A page of stories, newest first, and how many there are in all."""
    st = stories_t.c
    with store.engine.connect() as conn:
        total = int(conn.execute(sa.select(sa.func.count()).select_from(stories_t)).scalar_one())
        rows = conn.execute(
            sa.select(st.id, st.title, st.created)
            .order_by(st.created.desc(), st.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        return _summaries(conn, rows), total


@store_errors
def stories_by_id(store: Store, ids: Sequence[int]) -> dict[int, StorySummary]:
    """The summaries of these stories (outlets, alerts), for search results."""
    if not ids:
        return {}
    st = stories_t.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(st.id, st.title, st.created).where(st.id.in_(list(ids)))
        ).all()
        return {s.id: s for s in _summaries(conn, rows)}


@store_errors
def story_detail(store: Store, story_id: int) -> StoryDetail | None:
    st, a = stories_t.c, articles_t.c
    with store.engine.connect() as conn:
        row = conn.execute(
            sa.select(st.id, st.title, st.created).where(st.id == story_id)
        ).one_or_none()
        if row is None:
            return None
        [summary] = _summaries(conn, [row])
        articles = conn.execute(
            sa.select(*stored_article_columns()).where(a.story_id == story_id).order_by(a.id)
        ).all()
        deliveries = _deliveries(conn, outbox_t.c.story_id == story_id, 1000, 0)
    return StoryDetail(summary, tuple(StoredArticle(*r) for r in articles), tuple(deliveries))


@store_errors
def list_deliveries(
    store: Store, limit: int = 50, offset: int = 0, status: str | None = None
) -> list[Delivery]:
    """Alerts newest first, health notices included (they have no story)."""
    where = outbox_t.c.status == status if status else sa.true()
    with store.engine.connect() as conn:
        return _deliveries(conn, where, limit, offset)


@store_errors
def articles_per_day(store: Store, today: date, days: int = 7) -> dict[str, list[int]]:
    """New articles per source on each of the last ``days`` days (UTC), oldest first."""
    a = articles_t.c
    start = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), UTC)
    day = sa.func.date(a.first_seen)
    query = (
        sa.select(a.source, day.label("day"), sa.func.count().label("n"))
        .where(a.first_seen >= start)
        .group_by(a.source, day)
    )
    out: dict[str, list[int]] = {}
    with store.engine.connect() as conn:
        for source, when, n in conn.execute(query):
            # SQLite's date() is text, PostgreSQL's a date: compare them as ISO text.
            index = days - 1 - (today - date.fromisoformat(str(when))).days
            if 0 <= index < days:
                out.setdefault(source, [0] * days)[index] = int(n)
    return out


def _summaries(conn: Connection, rows: Sequence[Any]) -> list[StorySummary]:
    ids = {int(r.id) for r in rows}
    if not ids:
        return []
    a, o = articles_t.c, outbox_t.c
    counts: dict[int, int] = dict(
        conn.execute(
            sa.select(a.story_id, sa.func.count()).where(a.story_id.in_(ids)).group_by(a.story_id)
        ).all()
    )
    rules: dict[int, list[str]] = {}
    for story_id, rule in conn.execute(
        sa.select(o.story_id, o.rule).where(o.story_id.in_(ids)).distinct().order_by(o.rule)
    ):
        rules.setdefault(story_id, []).append(rule)
    outlets = outlets_of(conn, ids)
    return [
        StorySummary(
            id=r.id,
            title=r.title,
            created=r.created,
            articles=int(counts.get(r.id, 0)),
            outlets=outlets.get(r.id, ()),
            rules=tuple(rules.get(r.id, ())),
        )
        for r in rows
    ]


def _deliveries(
    conn: Connection, where: sa.ColumnElement[bool], limit: int, offset: int
) -> list[Delivery]:
    o, a = outbox_t.c, articles_t.c
    query = (
        sa.select(
            o.alert_id, o.rule, o.channel, o.status, o.attempts, o.created, o.next_attempt,
            o.sent_at, o.last_error, o.story_id,
            sa.func.coalesce(a.title, "").label("title"), sa.func.coalesce(a.url, "").label("url"),
        )
        .select_from(outbox_t.outerjoin(articles_t, a.id == o.article_id))
        .where(where)
        .order_by(o.id.desc())
        .limit(limit)
        .offset(offset)
    )  # fmt: skip
    return [Delivery(**r._mapping) for r in conn.execute(query)]
