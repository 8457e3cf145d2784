"""The feed records that ``parse_feed`` hands to the pipeline.

A ``Feed`` is what one poll of a source's feed URL yields; each ``FeedEntry`` is an
article candidate whose URL goes on to dedupe and extraction. Text fields are plain text:
the HTML that feeds carry in titles and bodies is stripped here, once, so no later stage
has to guess whether a string is markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a feed, as the feed describes it."""

    guid: str | None
    url: str | None
    title: str
    summary: str
    content: str
    published: datetime | None
    updated: datetime | None
    authors: tuple[str, ...]
    language: str | None


@dataclass(frozen=True, slots=True)
class Feed:
    """A parsed feed; ``ttl`` is the publisher's polling hint in seconds, if it gave one.

    ``malformed`` says why the XML was broken when feedparser recovered entries from it
    anyway: the poll succeeds, and ``monitor status`` shows ``ok, malformed: …``.
    """

    title: str
    link: str | None
    language: str | None
    entries: tuple[FeedEntry, ...]
    ttl: float | None
    malformed: str | None = None
