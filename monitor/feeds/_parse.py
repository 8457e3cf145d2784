"""feedparser's result -> ``Feed``: the adapter between the format and the domain model.

Every feedparser quirk stays here: its ``FeedParserDict`` keys, its UTC ``struct_time``
dates, its ``bozo`` flag, its copying of ``content`` into ``summary``. The pipeline sees
only frozen dataclasses with plain text, absolute http(s) URLs and aware UTC datetimes.
"""

from __future__ import annotations

import calendar
import io
import math
import re
import time
import xml.sax
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser

from monitor.errors import FeedError
from monitor.feeds._budget import check_markup_budget
from monitor.feeds._charset import as_utf8_document, decode_feed
from monitor.feeds._guard import neutralise_doctype
from monitor.feeds._html import html_instead_of_feed, looks_like_html
from monitor.feeds._jsonfeed import looks_like_json, parse_json_feed
from monitor.feeds._model import Feed, FeedEntry
from monitor.feeds._text import http_url, plain_text

DEFAULT_MAX_BYTES = 15 * 2**20

# feedparser asks xml.sax for the libxml2 SAX driver before expat on every parse: an
# import that fails only after a search of sys.path (50 µs a feed alone; in threads, a
# queue on the import lock, measured at seconds over a cycle's first 64 feeds). That
# driver comes from libxml2's old Python bindings, which nothing here installs: expat,
# which every parse already used, is asked for directly.
feedparser.api.PREFERRED_XML_PARSERS = []

# sy:updatePeriod units (RSS 1.0 syndication module); "monthly" taken as 30 days.
_PERIODS = {
    "hourly": 3600.0,
    "daily": 86400.0,
    "weekly": 7 * 86400.0,
    "monthly": 30 * 86400.0,
    "yearly": 365 * 86400.0,
}
_LANGUAGE = re.compile(r"[A-Za-z]{2,8}")
# Numeric character references, which feedparser's loose parser turns into characters
# with chr(): a surrogate or a number past U+10FFFF makes it raise.
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,16})|([0-9]{1,20}));")


def _safe_ref(found: re.Match[str]) -> str:
    hexa, decimal = found.groups()
    code = int(hexa, 16) if hexa else int(decimal)
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return "&#xFFFD;"
    return found.group(0)


def parse_feed(
    data: bytes,
    url: str,
    *,
    content_type: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Feed:
    """Parse RSS 0.9x/1.0/2.0, Atom or JSON Feed bytes fetched from ``url``.

    ``content_type`` is the response's header, read for its charset. Raises
    ``FeedError`` when the bytes are over ``max_bytes``, carry a hostile DTD (``_guard``),
    hold more markup than feedparser can get through quickly (``_budget``), or are not a
    feed feedparser can read entries from.
    """
    if len(data) > max_bytes:
        raise FeedError(f"feed is {len(data)} bytes, over the {max_bytes}-byte cap")
    if not data or data.isspace():
        raise FeedError("feed is empty")
    if looks_like_json(data, content_type):
        return parse_json_feed(data, url)
    if looks_like_html(data, content_type):
        raise FeedError(html_instead_of_feed(data, url))
    text = neutralise_doctype(decode_feed(data, content_type))
    if "&#" in text:
        text = _CHAR_REF.sub(_safe_ref, text)
    document = as_utf8_document(text)
    check_markup_budget(text, document)
    del text  # up to 15 MiB of str that feedparser does not need
    # Always a stream: feedparser treats a str or bytes argument as a URL or file path
    # if it looks like one, and a feed must never make it open either.
    try:
        result = feedparser.parse(
            io.BytesIO(document),
            response_headers={
                "content-type": "application/xml; charset=utf-8",
                "content-location": url,
            },
            resolve_relative_uris=False,
            sanitize_html=False,
        )
    except (ValueError, LookupError, OverflowError, RecursionError) as exc:
        # feedparser's own failure on bytes it cannot read (UnicodeError is a
        # ValueError): not a feed, this poll only.
        raise FeedError(f"feedparser could not read the feed: {type(exc).__name__}") from exc
    return _to_feed(result, url)


def _to_feed(result: Mapping[str, Any], url: str) -> Feed:
    raw_entries = result.get("entries") or []
    if not raw_entries and (result.get("bozo") or not result.get("version")):
        reason = result.get("bozo_exception")
        detail = f": {_first_line(reason)}" if reason else ""
        raise FeedError(f"not a readable feed{detail}")
    meta = _plain(result.get("feed") or {})
    language = _language(meta.get("language"))
    entries = tuple(
        entry for raw in raw_entries if (entry := _to_entry(raw, url, language)) is not None
    )
    return Feed(
        title=_detail_text(meta, "title"),
        link=http_url(meta.get("link"), url),
        language=language,
        entries=entries,
        ttl=_ttl_hint(meta),
        malformed=_malformed(result),
    )


def _to_entry(
    entry: Mapping[str, Any], feed_url: str, feed_language: str | None
) -> FeedEntry | None:
    # A plain dict: FeedParserDict answers a missing ``updated`` with ``published`` and a
    # DeprecationWarning, and an entry that was never updated must say so.
    raw = _plain(entry)
    guid = _clean(raw.get("id")) or None
    link = http_url(raw.get("link"), feed_url)
    title = _detail_text(raw, "title")
    summary = _detail_text(raw, "summary")
    content = _content_text(raw.get("content"))
    if not (guid or link or title or summary or content):
        return None
    return FeedEntry(
        guid=guid,
        url=link,
        title=title,
        summary=summary,
        content=content,
        published=_datetime(raw.get("published_parsed")),
        updated=_datetime(raw.get("updated_parsed")),
        authors=_authors(raw),
        language=_entry_language(raw) or feed_language,
    )


def _malformed(result: Mapping[str, Any]) -> str | None:
    """Why feedparser had to recover this feed, when the XML itself was broken.

    feedparser also raises ``bozo`` for a charset it overrode or a media type it did not
    expect; those say nothing about the feed's health (we hand it UTF-8 ourselves).
    """
    reason = result.get("bozo_exception")
    if not result.get("bozo") or reason is None:
        return None
    if isinstance(reason, feedparser.CharacterEncodingOverride | feedparser.NonXMLContentType):
        return None
    if isinstance(reason, xml.sax.SAXParseException):
        where = f"line {reason.getLineNumber()}, column {reason.getColumnNumber()}"
        return f"{where}: {reason.getMessage()}"
    return _first_line(reason)


def _plain(node: Mapping[str, Any]) -> dict[str, Any]:
    return dict(dict.items(node)) if isinstance(node, dict) else dict(node)


def _first_line(error: object) -> str:
    return str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__


def _clean(value: object) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _detail_text(node: Mapping[str, Any], key: str) -> str:
    value = node.get(key)
    if not isinstance(value, str):
        return ""
    detail = node.get(f"{key}_detail") or {}
    text = plain_text(value, detail.get("type"))
    # A title or summary is one paragraph however the feed wrapped it.
    return " ".join(text.split()) if key == "title" else text


def _content_text(contents: object) -> str:
    if not isinstance(contents, list):
        return ""
    # Feeds that offer alternatives (Atom text next to xhtml) put the richest one first.
    for item in contents:
        value = item.get("value") if isinstance(item, Mapping) else None
        if isinstance(value, str) and value.strip():
            text = plain_text(value, item.get("type"))
            if text:
                return text
    return ""


def _datetime(value: object) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _authors(raw: Mapping[str, Any]) -> tuple[str, ...]:
    names: list[str] = []
    for author in raw.get("authors") or []:
        if not isinstance(author, Mapping):
            continue
        name = _clean(author.get("name"))
        # feedparser fills an email-only <author> with a mangled "Name (ema" taken from
        # the author before it; an unbalanced parenthesis is that artefact, not a name.
        if name.count("(") != name.count(")"):
            name = ""
        name = name or _clean(author.get("email"))
        if name and name not in names:
            names.append(name)
    if not names and (single := _clean(raw.get("author"))):
        names.append(single)
    return tuple(names)


def _language(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    match = _LANGUAGE.match(value.strip())
    return match.group().lower() if match else None


def _entry_language(raw: Mapping[str, Any]) -> str | None:
    for key in ("content", "summary_detail", "title_detail"):
        node = raw.get(key)
        if isinstance(node, list):
            node = node[0] if node else None
        if isinstance(node, Mapping) and (language := _language(node.get("language"))):
            return language
    return None


def _ttl_hint(meta: Mapping[str, Any]) -> float | None:
    """Seconds between polls the publisher asks for: RSS ``ttl``, else ``sy:update*``.

    ``ttl`` is the explicit caching directive, so it wins; ``sy:updatePeriod`` describes
    the publishing cadence and is used only when there is no ``ttl``.
    """
    minutes = _positive_number(meta.get("ttl"))
    if minutes is not None:
        hint = minutes * 60.0
    else:
        period = _PERIODS.get(_clean(meta.get("sy_updateperiod")).lower())
        if period is None:
            return None
        hint = period / (_positive_number(meta.get("sy_updatefrequency")) or 1.0)
    return hint if math.isfinite(hint) and hint > 0 else None


def _positive_number(value: object) -> float | None:
    try:
        number = float(_clean(value))
    except ValueError:
        return None
    return number if math.isfinite(number) and number > 0 else None
