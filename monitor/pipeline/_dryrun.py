"""``monitor fetch SOURCE``: what a poll would make of each article, deciding nothing.

Each article is prepared exactly as the poll prepares it (``_article.prepare``, whose
filters are ``_filters``), then checked against the database when one exists: is it
stored already, which story would it join, has that story already alerted each
(rule, channel)? Copies of one another within this listing count as one story too.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from monitor.config import SourceConfig
from monitor.dedupe import StoryIndex
from monitor.errors import StoreError
from monitor.pipeline._article import Prepared, given_up, prepare
from monitor.pipeline._listing import Candidate, Listing
from monitor.pipeline._poll import was_edited
from monitor.pipeline._runtime import Runtime
from monitor.pipeline._stories import STORY_WINDOW
from monitor.store import NewAlert, Store


@dataclass(frozen=True)
class Verdict:
    """One article as a poll would treat it."""

    prepared: Prepared
    stored: bool | None  # None: no database to ask
    edited: bool  # stored, but the feed says it changed since: a poll reads it again
    story_id: int | None  # the stored story it is in or would join (None: a new one)
    fire: tuple[NewAlert, ...]  # alerts a poll would create and send
    repeat: tuple[NewAlert, ...]  # passed the filters, but its story already alerted them

    @property
    def skipped(self) -> bool:
        """A poll does not read it again: stored and not edited."""
        return bool(self.stored) and not self.edited


@dataclass
class _RunStories:
    """Stories among the articles of this dry run, none of them stored: an exact or
    near copy of an earlier one is that one's story, under a negative id."""

    fingerprints: dict[str, int] = field(default_factory=dict)
    index: StoryIndex = field(default_factory=lambda: StoryIndex(STORY_WINDOW.days))
    alerted: set[tuple[str, int | None, str]] = field(default_factory=set)
    started: int = 0  # stories this dry run started, numbered -1, -2, ...

    def story_of(self, prepared: Prepared) -> int:
        record = prepared.record
        found = self.fingerprints.get(record.fingerprint) if record.fingerprint else None
        if found is None and record.signature:
            found = self.index.find(prepared.signature)
        if found is None:
            # A body too short to compare starts a story of its own, as in the poll.
            self.started += 1
            found = -self.started
        if record.fingerprint:
            self.fingerprints.setdefault(record.fingerprint, found)
        if record.signature:
            self.index.add(found, prepared.signature, record.first_seen)
        return found


class DryRun:
    """A source's listing and, one by one, the verdict on each of its articles."""

    def __init__(
        self, rt: Runtime, source: SourceConfig, listing: Listing, database: str | None
    ) -> None:
        self.rt = rt
        self.source = source
        self.listing = listing
        self.database = database  # the (redacted) database asked; None when there is none
        self._known: dict[str, datetime | None] | None = None
        self._stories: dict[str, int | None] = {}
        self._run = _RunStories()

    async def judge(self, candidate: Candidate) -> Verdict | None:
        """None when there is nothing to read (the poll would skip it and retry later)."""
        try:
            prepared = await prepare(self.rt, self.source, candidate)
        except StoreError:
            raise
        except Exception as exc:  # as the poll does: this article only
            prepared = given_up(self.rt, self.source, candidate, exc)
        if prepared is None:
            return None
        store = self.rt.store
        if store is None:
            story = self._run.story_of(prepared)
            fire, repeat = self._split(prepared.alerts, story, set())
            return Verdict(prepared, None, False, None, fire, repeat)
        known = await self._known_keys(store)
        if candidate.key not in known:
            return await self._new(store, prepared)
        story_id = self._stories.get(candidate.key)
        had = await self._had(store, story_id, prepared.alerts)
        if not was_edited(candidate, known[candidate.key]):
            # The poll skips a stored article: nothing fires, whatever it matches.
            repeat = tuple(a for a in prepared.alerts if (a.rule, a.channel) in had)
            return Verdict(prepared, True, False, story_id, (), repeat)
        # An edit is read again; its story gets only the alerts it does not have yet.
        fire, repeat = self._split(prepared.alerts, story_id, had)
        return Verdict(prepared, True, True, story_id, fire, repeat)

    async def _known_keys(self, store: Store) -> dict[str, datetime | None]:
        if self._known is None:
            keys = [c.key for c in self.listing.candidates]
            stored = await asyncio.to_thread(store.stored_versions, keys)
            self._known = {key: updated for key, (updated, _) in stored.items()}
            self._stories = {key: story for key, (_, story) in stored.items()}
        return self._known

    async def _new(self, store: Store, prepared: Prepared) -> Verdict:
        record = prepared.record
        # Only a comparable body joins another story by likeness, as in the poll.
        near = self.rt.near(prepared.signature, record.first_seen)
        stored = await asyncio.to_thread(
            store.story_for, record, near if record.signature else None
        )
        story = stored if stored is not None else self._run.story_of(prepared)
        had = await self._had(store, stored, prepared.alerts)
        fire, repeat = self._split(prepared.alerts, story, had)
        return Verdict(prepared, False, False, stored, fire, repeat)

    async def _had(
        self, store: Store, story: int | None, alerts: list[NewAlert]
    ) -> set[tuple[str, str]]:
        if story is None or not alerts:
            return set()
        return await asyncio.to_thread(store.alerted, story, {a.rule for a in alerts})

    def _split(
        self, alerts: list[NewAlert], story: int | None, had: set[tuple[str, str]]
    ) -> tuple[tuple[NewAlert, ...], tuple[NewAlert, ...]]:
        """The alerts that would go out, and those the story already has (stored, or
        fired by an earlier article of this dry run): one per (rule, story, channel)."""
        fire: list[NewAlert] = []
        repeat: list[NewAlert] = []
        for alert in alerts:
            key = (alert.rule, story, alert.channel)
            if (alert.rule, alert.channel) in had or key in self._run.alerted:
                repeat.append(alert)
                continue
            fire.append(alert)
            if story is not None:
                self._run.alerted.add(key)
        return tuple(fire), tuple(repeat)
