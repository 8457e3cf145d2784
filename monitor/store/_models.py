"""Plain dataclasses that cross the store's boundary: ORM rows never leave the package."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A source as the config describes it; synced into the sources table."""

    name: str
    url: str
    kind: str
    interval_seconds: int
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class ClaimedSource:
    """A due source leased to one poller until ``lease_until``."""

    id: int
    name: str
    url: str
    kind: str
    interval_seconds: int
    etag: str | None
    last_modified: str | None
    error_count: int
    lease_until: datetime


@dataclass(frozen=True, slots=True)
class NewArticle:
    url_key: str
    url: str
    canonical_url: str
    source: str
    title: str
    body: str
    first_seen: datetime
    guid: str | None = None
    summary: str = ""
    authors: tuple[str, ...] = ()
    language: str | None = None
    published: datetime | None = None
    updated: datetime | None = None  # the feed's version stamp: a later one means an edit
    quality: str = "ok"
    fingerprint: str | None = None
    signature: bytes | None = None
    # What the search index holds for the article (``monitor.rules.article_keys``): of
    # its title and body, and of its title alone (what stays searchable after
    # retention). Empty keys leave the article out of ``monitor search``.
    search_keys: str = ""
    title_keys: str = ""


@dataclass(frozen=True, slots=True)
class NewAlert:
    """One (rule, channel) an article matched; ``payload`` is JSON-ready."""

    rule: str
    channel: str
    payload: Mapping[str, Any]
    digest: bool = False  # wait for the channel's next digest instead of going out now


@dataclass(frozen=True, slots=True)
class Health:
    """A source's failure streak, as it stands after a poll was recorded."""

    failing_since: datetime | None
    notified: bool  # a "failing" notice went out for this streak


@dataclass(frozen=True, slots=True)
class Inserted:
    """What ``insert_article`` really wrote: the article, its story, and each alert it
    created with its id (an alert its story already had is not among them)."""

    article_id: int
    story_id: int
    created: tuple[tuple[str, NewAlert], ...]

    @property
    def alert_ids(self) -> tuple[str, ...]:
        return tuple(ident for ident, _ in self.created)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    alert_id: str
    rule: str
    channel: str
    story_id: int | None  # None for a notice about a source's health
    article_id: int | None
    payload: Mapping[str, Any]
    attempts: int
    created: datetime
    outlets: tuple[str, ...] = ()
    lease_token: str | None = None  # the claim's token, for mark_sent / mark_failed
    outlet_links: Mapping[str, str] = field(default_factory=dict)  # outlet -> its copy's URL


@dataclass(frozen=True, slots=True)
class StoredArticle:
    id: int
    url: str
    source: str
    title: str
    body: str
    language: str | None
    published: datetime | None
    first_seen: datetime
    story_id: int | None


@dataclass(frozen=True, slots=True)
class SourceStatus:
    name: str
    url: str
    enabled: bool
    ok: bool
    last_poll: datetime | None
    last_success: datetime | None
    last_error: str | None
    last_error_kind: str | None
    error_count: int
    next_check: datetime | None
    polls: int
    failures: int
    articles_seen: int
    articles_last_day: int = 0


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    name: str
    disabled: bool
    disabled_reason: str | None
    last_error: str | None
    last_success: datetime | None
    counts: Mapping[str, int] = field(default_factory=dict)


# Stories with a signature, created since a time, with an id above a given one:
# (story id, signature bytes, created). The store hands one to a NearFinder inside the
# insert's transaction, so the finder sees every story other workers made before it.
StoryLoader = Callable[[int, datetime], Sequence[tuple[int, bytes, datetime]]]
NearFinder = Callable[[StoryLoader], "int | None"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One alert in the outbox, as the web view shows it: where it went and how it fared.

    ``story_id`` and ``title`` are empty for a notice about a source's health."""

    alert_id: str
    rule: str
    channel: str
    status: str
    attempts: int
    created: datetime
    next_attempt: datetime | None
    sent_at: datetime | None
    last_error: str | None
    story_id: int | None
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class StorySummary:
    id: int
    title: str
    created: datetime
    articles: int
    outlets: tuple[str, ...]
    rules: tuple[str, ...]  # the alerts it fired, by rule name


@dataclass(frozen=True, slots=True)
class StoryDetail:
    story: StorySummary
    articles: tuple[StoredArticle, ...]  # oldest first
    deliveries: tuple[Delivery, ...]


# A stored story a near copy may join: (story id, its signature bytes, created).
StoryCandidate = tuple[int, bytes, datetime]


@dataclass(frozen=True, slots=True)
class BandQuery:
    """An article's near copies, looked up in the database (PostgreSQL).

    ``bands`` are the article's band keys (``dedupe.band_keys``), ``since`` the start of
    the window, ``pick`` names, of the stories created since then that share a band, the
    one the article joins (None: it starts its own). The store locks ``bands`` (and the
    fingerprint) for the transaction, so near copies serialise and nothing else waits.
    """

    bands: tuple[int, ...]
    since: datetime
    pick: Callable[[Sequence[StoryCandidate]], int | None]


@dataclass(frozen=True, slots=True)
class PendingArticle:
    """One article of an ``insert_articles`` batch: what ``insert_article`` takes.

    ``alias`` (the url key of the page's canonical URL, when the link differs) is looked
    up first: when an article is stored under it already, ``url_key`` becomes one more
    key of that article (``alias_to``) and nothing else is written.
    """

    article: NewArticle
    alerts: Sequence[NewAlert]
    near: NearFinder | BandQuery | None = None
    alias: str | None = None


@dataclass(frozen=True, slots=True)
class Aliased:
    """An ``insert_articles`` outcome: the link was another key of this stored article."""

    article_id: int


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """An alert as the rules table keeps it: its name, query and the rest of its config
    as JSON (``spec``), which every worker turns back into the same alert."""

    name: str
    query: str
    spec: str


@dataclass(frozen=True, slots=True)
class RuleChanges:
    """What changed in the rules table after a version: rules added or edited, names
    removed, the version reached, and the synonyms every query is parsed with."""

    version: int
    synonyms: str
    changed: tuple[RuleSpec, ...]
    removed: tuple[str, ...]
