"""``monitor rules test ALERT``: what an alert would have sent over the stored history.

Replays the archive in the order the articles were stored and decides each one as the
poll did when it first saw it: the query, then the alert's filters (``_filters``, the
poll's own code, with ``max_age`` measured against the time the article was first
seen), then the outbox's rule of one alert per (rule, story, channel).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from monitor.config import AlertConfig, Config
from monitor.errors import MonitorError, QueryError
from monitor.pipeline._filters import is_digest, rejection
from monitor.pipeline._search import match_stored, stored_document
from monitor.rules import Match, parse_query
from monitor.store import Store, StoredArticle


@dataclass(frozen=True)
class Replayed:
    """A stored article the alert's query matches."""

    article: StoredArticle
    match: Match
    reason: str | None = None  # why the filters stopped it; None: it passed them


@dataclass
class ReplayedStory:
    """A story the alert fires on: ``alerted`` is the article the alert was sent for,
    ``copies`` later articles of the story that passed the filters and sent nothing."""

    story_id: int | None
    alerted: Replayed
    copies: list[Replayed] = field(default_factory=list)
    outlets: tuple[str, ...] = ()


@dataclass
class AlertReplay:
    alert: AlertConfig
    channels: tuple[tuple[str, bool], ...]  # (channel, digest?) in the alert's order
    stories: list[ReplayedStory] = field(default_factory=list)
    filtered: list[Replayed] = field(default_factory=list)  # matched, stopped by a filter
    scanned: int = 0

    @property
    def alert_count(self) -> int:
        """Outbox rows a poll would have created: one per story and channel."""
        return len(self.stories) * len(self.channels)


def find_alert(config: Config, text: str) -> AlertConfig | None:
    """The alert ``text`` names, or None when it is a query; a MonitorError naming the
    alerts when it is neither."""
    for alert in config.alerts:
        if alert.name == text:
            return alert
    try:
        parse_query(text, config.synonyms)
    except QueryError as exc:
        names = ", ".join(a.name for a in config.alerts) or "none configured"
        raise MonitorError(
            f"{text!r} is not an alert in the config (alerts: {names}) "
            f"and does not parse as a query: {exc}"
        ) from None
    return None


def replay_alert(
    config: Config,
    store: Store,
    alert: AlertConfig,
    since: datetime | None,
    progress: Callable[[], object] = lambda: None,
) -> AlertReplay:
    """What ``alert`` would have sent for the articles first seen since ``since``."""
    channels = tuple((c, is_digest(config, alert, c)) for c in alert.notify)
    out = AlertReplay(alert, channels)
    tags = {s.name: s.tags for s in config.sources}
    matched: list[tuple[StoredArticle, Match]] = []
    for art, match in match_stored(config, store, alert.query, since):
        out.scanned += 1
        progress()
        if match is not None:
            matched.append((art, match))
    # In the order they were stored, which is the order the polls decided them in,
    # whatever order the archive search yields them.
    matched.sort(key=lambda pair: pair[0].id)
    by_story: dict[object, ReplayedStory] = {}
    for art, match in matched:
        doc = stored_document(art, tags)
        reason = rejection(alert, doc, art.published or art.first_seen, art.first_seen)
        seen = Replayed(art, match, reason)
        if reason is not None:
            out.filtered.append(seen)
            continue
        # The first article of a story through the filters creates the story's alert;
        # the outbox refuses a second one for the same (rule, story, channel).
        key: object = art.story_id if art.story_id is not None else ("article", art.id)
        story = by_story.get(key)
        if story is None:
            by_story[key] = story = ReplayedStory(art.story_id, seen)
            out.stories.append(story)
        else:
            story.copies.append(seen)
    outlets = store.story_outlets({s.story_id for s in out.stories if s.story_id is not None})
    for story in out.stories:
        story.outlets = outlets.get(story.story_id, ()) if story.story_id is not None else ()
        story.outlets = story.outlets or (story.alerted.article.source,)
    return out
