"""The alert as notifiers see it: frozen value objects, the ``Notifier`` seam and stable ids.

The pipeline turns a matched article into an :class:`AlertMessage`; the outbox stores it and
hands it, possibly many times, to a notifier. Everything a notifier sends is derived from this
message alone, so a retry renders exactly what the first attempt rendered.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


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


@dataclass(frozen=True, slots=True)
class StoryInfo:
    """The near-duplicate story an article belongs to, and the outlets that carried it."""

    id: int
    outlets: tuple[str, ...]


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


def alert_id(rule: str, story_or_article_key: str, channel: str) -> str:
    """The stable id of the alert of ``rule`` about a story (or article) on ``channel``.

    The same three inputs always give the same id, so the outbox can recreate it and a
    resent alert is recognisable downstream.
    """
    return _stable_id(["alert", rule, story_or_article_key, channel])


def digest_id(name: str, messages: Sequence[AlertMessage]) -> str:
    """A digest's id: derived from its name and the alerts it carries, so a resend matches."""
    return _stable_id(["digest", name, *sorted(m.id for m in messages)])
