"""Articles and stories: insert only what is new, with its alerts, in one transaction."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.store._aliases import alias_in, aliased_keys, record_alias
from monitor.store._base import (
    StoreBase,
    alert_id,
    articles_t,
    by_url_key,
    outbox_t,
    outlets_of,
    stored_article_columns,
    stories_t,
    story_bands_t,
)
from monitor.store._models import (
    Aliased,
    BandQuery,
    Inserted,
    NearFinder,
    NewAlert,
    NewArticle,
    PendingArticle,
    StoredArticle,
)
from monitor.store._stories import create_story, existing_story, lock_for_story


class ArticleOps(StoreBase):
    """Articles and their stories, inserted only when new."""

    # The statements of every insert, built once with their values as parameters: a
    # statement built with its values inside is a new cache key for SQLAlchemy to
    # work out at each article (about a third of an insert's CPU time).
    @functools.cached_property
    def _new_article_sql(self) -> Any:
        return (
            self._insert(articles_t)
            .on_conflict_do_nothing(index_elements=["url_key"])
            .returning(articles_t.c.id)
        )

    @functools.cached_property
    def _new_alerts_sql(self) -> Any:
        return self._insert(outbox_t).on_conflict_do_nothing().returning(outbox_t.c.alert_id)

    def known_keys(self, keys: Sequence[str]) -> dict[str, datetime | None]:
        """The url keys among ``keys`` already stored, each with the version stamp it was
        stored with (the feed's updated date): a known article is not fetched again
        unless its feed says it changed since."""
        # One connection for both reads: a pool checkout (and, on SQLite, its
        # connect-time pragmas' round trips) per feed polled is not free.
        with self.engine.connect() as conn:
            found = by_url_key(conn, keys, articles_t.c.updated)
            known = {key: updated for key, (updated,) in found.items()}
            rest = [k for k in keys if k not in known]
            # Other links to a stored page (store/_aliases) are known too.
            return (aliased_keys(conn, rest) if rest else {}) | known

    def update_article(self, article: NewArticle, alerts: Sequence[NewAlert]) -> Inserted | None:
        """An edited article (same URL, new text): store the new version and create only
        the alerts its story does not have yet, i.e. for rules that did not match before."""
        a = articles_t.c
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.update(articles_t)
                .where(a.url_key == article.url_key)
                .values(
                    title=article.title,
                    body=article.body,
                    fingerprint=article.fingerprint,
                    language=article.language,
                    published=article.published,
                    updated=article.updated,
                    quality=article.quality,
                    search_keys=article.search_keys,
                    title_keys=article.title_keys,
                )
                .returning(a.id, a.story_id)
            ).one_or_none()
            if row is None or row.story_id is None:
                return None
            created = self._add_alerts(conn, alerts, row.story_id, row.id, article.first_seen)
        return Inserted(article_id=row.id, story_id=row.story_id, created=created)

    def insert_article(
        self,
        article: NewArticle,
        alerts: Sequence[NewAlert],
        *,
        near: NearFinder | BandQuery | None = None,
        alias: str | None = None,
    ) -> Inserted | None:
        """Insert the article, its story and its alerts in one transaction.

        Returns None when the article was already stored (another worker may have won
        the race); then nothing else is written. The article joins the story of an exact
        copy (same body fingerprint), else the one ``near`` names, else a new one; alerts
        already created for the same (rule, story, channel) are not created again.
        ``near`` is a ``NearFinder`` (an index the caller keeps) or, on PostgreSQL, a
        ``BandQuery`` answered by the database's own index (``_stories``). ``alias``
        (the url key of the page's own canonical URL, when the link differs) is
        recorded as another key of the article in the same transaction (``_aliases``).
        """
        with self.engine.begin() as conn:
            return self._insert_one(conn, article, alerts, near, alias)

    def insert_articles(
        self, batch: Sequence[PendingArticle], *, rolled_back: Callable[[], None] | None = None
    ) -> list[Inserted | Aliased | None]:
        """``batch`` as ``alias_to`` then ``insert_article`` would store it one article
        after the other (each outcome in order: Aliased, Inserted, or None when it was
        stored already), in as few transactions as the database allows.

        SQLite: one transaction for the whole batch. BEGIN IMMEDIATE serialises every
        writer anyway, and each commit costs as much as an article (the search index
        writes a segment per transaction). Every article still commits with its story
        and its alerts: all of the batch is written, or none of it, and what a crash
        loses is fetched again at the next poll. PostgreSQL: one transaction each, so
        the story locks of one article (``_stories``) are never held while another's
        are taken, which two workers could do in opposite orders.

        ``rolled_back`` is called when a batch's transaction fails: a ``NearFinder`` fed
        the stories its earlier articles created, which then never existed (see
        ``StoryTracker.forget``). A statement's failure calls it before the rollback,
        while this writer still holds SQLite's lock, so no other writer reads them.
        """
        if self.dialect == "postgresql":
            return [self._pending_in(None, item) for item in batch]
        try:
            with self.engine.begin() as conn:
                try:
                    return [self._pending_in(conn, item) for item in batch]
                except BaseException:
                    if rolled_back is not None:
                        rolled_back()
                        rolled_back = None
                    raise
        except BaseException:
            if rolled_back is not None:  # the commit itself failed
                rolled_back()
            raise

    def _pending_in(
        self, conn: Connection | None, item: PendingArticle
    ) -> Inserted | Aliased | None:
        """One article of a batch, in ``conn``'s transaction (None: a transaction of its own)."""
        if conn is None:
            with self.engine.begin() as own:
                return self._pending_in(own, item)
        if item.alias is not None:
            owner = alias_in(conn, self._insert, item.article.url_key, item.alias)
            if owner is not None:
                return Aliased(owner)
        return self._insert_one(conn, item.article, item.alerts, item.near, item.alias)

    def _insert_one(
        self,
        conn: Connection,
        article: NewArticle,
        alerts: Sequence[NewAlert],
        near: NearFinder | BandQuery | None,
        alias: str | None,
    ) -> Inserted | None:
        # The story locks come before the row, so articles that could share a story get
        # their ids in the order their stories are decided in: the first id of a story
        # is the article its alert was sent for, as `rules test` replays it (by id). On
        # PostgreSQL an id taken before the lock could lose the race for the story
        # to a later id, which page workers finishing pages side by side made happen.
        lock_for_story(conn, self.dialect, article, near)
        row = {k: getattr(article, k) for k in _ARTICLE_COLUMNS}
        row["authors"] = "\n".join(article.authors)
        article_id = conn.execute(self._new_article_sql, row).scalar()
        if article_id is None:
            return None
        if alias is not None:
            record_alias(conn, self._insert, alias, article_id)
        story_id = self._story_for(conn, article, near)
        conn.execute(_SET_STORY, {"b_article": article_id, "b_story": story_id})
        created = self._add_alerts(conn, alerts, story_id, article_id, article.first_seen)
        return Inserted(article_id=article_id, story_id=story_id, created=created)

    def _story_for(
        self, conn: Connection, article: NewArticle, near: NearFinder | BandQuery | None
    ) -> int:
        existing = existing_story(conn, article, near)
        if existing is not None:
            return existing
        return create_story(conn, article, near)

    def _add_alerts(
        self,
        conn: Connection,
        alerts: Sequence[NewAlert],
        story_id: int,
        article_id: int,
        now: datetime,
    ) -> tuple[tuple[str, NewAlert], ...]:
        """The outbox rows of ``alerts``, in one multi-row statement; those the story had
        already (same rule and channel) are skipped by the unique key, not created."""
        if not alerts:
            return ()
        by_id = {alert_id(a.rule, story_id, a.channel): a for a in alerts}
        rows = [
            {
                "alert_id": ident,
                "rule": alert.rule,
                "channel": alert.channel,
                "story_id": story_id,
                "article_id": article_id,
                "payload": json.dumps(alert.payload, default=str),
                "status": "digest" if alert.digest else "pending",
                "attempts": 0,
                "next_attempt": None if alert.digest else now,
                "created": now,
            }
            # Sorted by key, so two transactions adding alerts to one story meet their
            # rows in the same order and cannot deadlock on them.
            for ident, alert in sorted(by_id.items())
        ]
        # One statement all the same: SQLAlchemy's insertmanyvalues sends the rows as one
        # INSERT ... VALUES (...), (...) ON CONFLICT DO NOTHING RETURNING, compiled once.
        new = set(conn.execute(self._new_alerts_sql, rows).scalars())
        return tuple((ident, alert) for ident, alert in by_id.items() if ident in new)

    def iter_articles(
        self, since: datetime | None = None, batch: int = 500
    ) -> Iterator[StoredArticle]:
        """Stored articles, oldest first, for replaying rules and searching."""
        a = articles_t.c
        last_id = 0
        while True:
            query = sa.select(*stored_article_columns()).where(a.id > last_id)
            if since is not None:
                query = query.where(a.first_seen >= since)
            with self.engine.connect() as conn:
                rows = conn.execute(query.order_by(a.id).limit(batch)).all()
            if not rows:
                return
            for row in rows:
                yield StoredArticle(*row)
            last_id = rows[-1][0]

    def story_outlets(self, story_ids: set[int]) -> dict[int, tuple[str, ...]]:
        with self.engine.connect() as conn:
            return outlets_of(conn, story_ids)

    def count_articles(self, since: datetime | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(articles_t)
        if since is not None:
            query = query.where(articles_t.c.first_seen >= since)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def prune(self, before: datetime) -> dict[str, int]:
        """Retention: drop bodies of articles first seen before ``before`` and the payloads
        of alerts delivered as long ago, keeping every article's URL key and fingerprint
        and every alert's key, so an old story is still recognised and never alerted again."""
        a, o, s = articles_t.c, outbox_t.c, stories_t.c
        with self.engine.begin() as conn:
            bodies = conn.execute(
                sa.update(articles_t)
                .where(a.first_seen < before, sa.or_(a.body != "", a.summary != ""))
                # Only the title stays searchable, so only its keys stay in the index.
                .values(body="", summary="", search_keys=a.title_keys)
            ).rowcount
            # Sent alerts keep their row (it is what stops a story alerting twice) but
            # not their payload; dead ones keep everything, for `monitor alerts retry`.
            alerts = conn.execute(
                sa.update(outbox_t)
                .where(o.created < before, o.status == "sent", o.payload != "{}")
                .values(payload="{}")
            ).rowcount
            stories = conn.execute(
                sa.update(stories_t)
                .where(s.created < before, s.signature.is_not(None))
                .values(signature=None)
            ).rowcount
        return {"bodies": int(bodies), "alerts": int(alerts), "stories": int(stories)}

    def prune_story_bands(self, before: datetime, batch: int = 10_000) -> int:
        """Forget the band keys of stories created before ``before`` (the near-copy
        window's start), in batches so no transaction holds many rows; returns how many.
        A no-op on SQLite, which keeps its index in memory."""
        if self.dialect != "postgresql":
            return 0
        b = story_bands_t.c
        dropped = 0
        while True:
            doomed = sa.select(b.story_id).where(b.created < before).limit(batch).scalar_subquery()
            with self.engine.begin() as conn:
                count = int(
                    conn.execute(sa.delete(story_bands_t).where(b.story_id.in_(doomed))).rowcount
                )
            dropped += count
            if count < batch:
                return dropped


_SET_STORY = (
    sa.update(articles_t)
    .where(articles_t.c.id == sa.bindparam("b_article"))
    .values(story_id=sa.bindparam("b_story"))
)
_ARTICLE_COLUMNS = (
    "url_key", "url", "canonical_url", "guid", "source", "title", "body", "summary",
    "language", "published", "first_seen", "updated", "quality", "fingerprint",
    "search_keys", "title_keys",
)  # fmt: skip
