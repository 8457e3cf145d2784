"""The alert as both sides of the outbox see it: frozen value objects and the ``Notifier`` seam.

The pipeline turns a matched article into an :class:`AlertPayload`, which the store keeps
as JSON in the outbox; the outbox worker reads it back with :meth:`AlertPayload.from_json`
and hands the :class:`AlertMessage` (payload + id + story), possibly many times, to a
notifier. Everything a notifier sends is derived from this message alone, so a retry
renders exactly what the first attempt rendered.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class ArticleInfo:
    """What a reader needs to judge an article from the alert alone."""

    url: str
    title: str
    source: str
    published: datetime | None
    language: str | None
    snippet: str
    """Plain text around the match."""
    snippet_html: str
    """The same snippet as HTML, the matched terms wrapped in ``<mark>``."""


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 with an offset; a naive time (rows of old versions) is taken as UTC."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


@dataclass(frozen=True, slots=True)
class AlertPayload:
    """What an alert says, as the outbox stores it: built by the pipeline, read by the
    outbox worker. ``to_json``/``from_json`` are the only two ends of its JSON form."""

    alert: str
    query: str
    matched: tuple[str, ...]
    article: ArticleInfo
    words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per matched term, the article's words that matched it (``{"IA": ("AI",)}``)."""

    def to_json(self) -> dict[str, Any]:
        a = self.article
        return {
            "alert": self.alert,
            "query": self.query,
            "matched": list(self.matched),
            "matched_terms": {term: list(found) for term, found in self.words.items()},
            "article": {
                "url": a.url,
                "title": a.title,
                "source": a.source,
                "published": iso_utc(a.published),
                "language": a.language,
                "snippet": a.snippet,
                "snippet_html": a.snippet_html,
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AlertPayload:
        # Rows written by earlier versions may lack the optional keys.
        a: Mapping[str, Any] = data["article"]
        published = a.get("published")
        return cls(
            alert=data["alert"],
            query=data.get("query", ""),
            matched=tuple(data.get("matched", ())),
            words={t: tuple(w) for t, w in (data.get("matched_terms") or {}).items()},
            article=ArticleInfo(
                url=a["url"],
                title=a["title"],
                source=a["source"],
                published=datetime.fromisoformat(published) if published else None,
                language=a.get("language"),
                snippet=a.get("snippet", ""),
                snippet_html=a.get("snippet_html", ""),
            ),
        )


@dataclass(frozen=True, slots=True)
class StoryInfo:
    """The near-duplicate story an article belongs to, and the outlets that carried it."""

    id: int
    outlets: tuple[str, ...]
    links: Mapping[str, str] = field(default_factory=dict)
    """Per outlet, the link to its copy of the story (when the store knows it)."""


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """One alert for one channel.

    ``id`` is stable: the same alert retried carries the same id, which becomes the
    webhook's ``webhook-id`` and the email's Message-ID so receivers can drop repeats.
    """

    id: str
    alert: str
    query: str
    matched: tuple[str, ...]
    article: ArticleInfo
    story: StoryInfo | None = None
    created: datetime | None = None
    words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def payload(self) -> AlertPayload:
        """What the alert says, without its id and story: the outbox's stored form."""
        return AlertPayload(self.alert, self.query, self.matched, self.article, self.words)

    @classmethod
    def from_payload(
        cls,
        ident: str,
        payload: AlertPayload,
        story: StoryInfo | None = None,
        created: datetime | None = None,
    ) -> AlertMessage:
        return cls(
            id=ident,
            alert=payload.alert,
            query=payload.query,
            matched=payload.matched,
            article=payload.article,
            story=story,
            created=created,
            words=payload.words,
        )


@runtime_checkable
class Notifier(Protocol):
    """A delivery channel. Both methods raise :class:`monitor.errors.DeliveryError`."""

    async def send(self, message: AlertMessage) -> None: ...

    async def send_digest(self, name: str, messages: Sequence[AlertMessage]) -> None: ...


def _stable_id(parts: Sequence[str]) -> str:
    # JSON keeps the parts unambiguous ("a|b","c" and "a","b|c" differ); 130 bits of
    # SHA-256 in lower-case base32 stays short, URL- and header-safe, and collision-free
    # in practice.
    digest = hashlib.sha256(json.dumps(list(parts), ensure_ascii=False).encode("utf-8")).digest()
    return "msg_" + base64.b32encode(digest).decode("ascii").lower()[:26]


def digest_id(name: str, messages: Sequence[AlertMessage]) -> str:
    """A digest's id: derived from its name and the alerts it carries, so a resend matches."""
    return _stable_id(["digest", name, *sorted(m.id for m in messages)])
