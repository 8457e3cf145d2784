"""Read-only questions a dry run asks: is this article stored, which story would it
join, which alerts does a story already have. Nothing here writes."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

import sqlalchemy as sa

from monitor.store._base import StoreBase, articles_t, by_url_key, outbox_t
from monitor.store._models import BandQuery, NearFinder, NewArticle
from monitor.store._stories import existing_story


class PreviewOps(StoreBase):
    def stored_versions(self, keys: Sequence[str]) -> dict[str, tuple[datetime | None, int | None]]:
        """Of each stored article among the url ``keys``: its version stamp (as
        ``known_keys`` gives it) and its story, in one read."""
        a = articles_t.c
        with self.engine.connect() as conn:
            found = by_url_key(conn, keys, a.updated, a.story_id)
        return {key: (updated, story) for key, (updated, story) in found.items()}

    def story_for(self, article: NewArticle, near: NearFinder | BandQuery | None) -> int | None:
        """The stored story an insert of ``article`` would put it in (None: a new one)."""
        with self.engine.connect() as conn:
            return existing_story(conn, article, near)

    def alerted(self, story_id: int, rules: Collection[str]) -> set[tuple[str, str]]:
        """The (rule, channel) pairs among ``rules`` that ``story_id`` already has an alert
        for, whatever its delivery status: the outbox creates each pair once per story."""
        if not rules:
            return set()
        o = outbox_t.c
        query = sa.select(o.rule, o.channel).where(o.story_id == story_id, o.rule.in_(rules))
        with self.engine.connect() as conn:
            return {(r.rule, r.channel) for r in conn.execute(query)}
