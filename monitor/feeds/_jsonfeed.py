"""JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1) -> ``Feed``.

feedparser 6.0 reads XML feeds only, and the format is small enough that its adapter is
a page: the same plain-text, http(s)-only, aware-UTC rules as ``_parse`` apply.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from monitor.errors import FeedError
from monitor.feeds._model import Feed, FeedEntry
from monitor.feeds._text import http_url, plain_text

_VERSION = "https://jsonfeed.org/version/"


def looks_like_json(data: bytes, content_type: str | None) -> bool:
    """A body that opens as a JSON object (whatever its media type says: servers label
    JSON Feeds text/plain or application/octet-stream as often as application/feed+json)."""
    del content_type
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def parse_json_feed(data: bytes, url: str) -> Feed:
    """A JSON Feed's items; ``FeedError`` when the bytes are not one."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FeedError(f"not a readable JSON Feed: {_reason(exc)}") from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(_VERSION):
        raise FeedError("not a JSON Feed: no https://jsonfeed.org/version/ in 'version'")
    items = doc.get("items")
    if not isinstance(items, list):
        raise FeedError("not a readable JSON Feed: 'items' is not a list")
    language = _string(doc.get("language")) or None
    entries = []
    for item in items:
        if not isinstance(item, dict):
            continue
        entry = _entry(item, url, language)
        if entry is not None:
            entries.append(entry)
    return Feed(
        title=" ".join(_string(doc.get("title")).split()),
        link=http_url(doc.get("home_page_url"), url),
        language=language.lower()[:8] if language else None,
        entries=tuple(entries),
        ttl=None,
    )


def _entry(item: Mapping[str, Any], base: str, language: str | None) -> FeedEntry | None:
    link = http_url(item.get("url"), base) or http_url(item.get("external_url"), base)
    guid = _string(item.get("id")) or None
    title = " ".join(plain_text(_string(item.get("title")), "text/html").split())
    content = (
        plain_text(_string(item.get("content_html")), "text/html")
        or _string(item.get("content_text")).strip()
    )
    summary = _string(item.get("summary")).strip()
    if not (guid or link or title or content or summary):
        return None
    own = _string(item.get("language")) or language
    return FeedEntry(
        guid=guid,
        url=link,
        title=title,
        summary=summary,
        content=content,
        published=_date(item.get("date_published")),
        updated=_date(item.get("date_modified")),
        authors=_authors(item),
        language=own.lower()[:8] if own else None,
    )


def _authors(item: Mapping[str, Any]) -> tuple[str, ...]:
    people = item.get("authors")
    if not isinstance(people, list):  # 1.0 had one "author"
        people = [item.get("author")]
    names: list[str] = []
    for person in people:
        name = " ".join(_string(person.get("name")).split()) if isinstance(person, dict) else ""
        if name and name not in names:
            names.append(name)
    return tuple(names)


def _date(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def _string(value: object) -> str:
    return value if isinstance(value, str) else ""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc).splitlines()[0][:200]
