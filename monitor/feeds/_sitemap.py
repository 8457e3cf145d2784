"""Sitemap bytes -> ``Sitemap``: a urlset's pages, or an index's child sitemaps.

Many news sites publish a Google News sitemap (the last two days' articles, each with a
``news:title``, ``news:publication_date`` and ``news:language``) rather than a complete
feed. The XML is read with defusedxml, which refuses DTDs with entities outright, and
within the same caps as a feed: a file's decoded size, and the protocol's own limit of
50,000 URLs a file. ``.xml.gz`` bodies are inflated here, under the same byte cap, since
a gzip file is not a Content-Encoding the fetcher removes.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from xml.etree.ElementTree import Element

from monitor.errors import FeedError
from monitor.feeds._text import http_url
from monitor.feeds._xml import XmlUnreadable, read_xml

MAX_URLS = 50_000  # the sitemap protocol's own limit per file
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True, slots=True)
class SitemapEntry:
    """A ``<url>`` of a urlset (with its Google News fields) or a ``<sitemap>`` of an index."""

    url: str
    lastmod: datetime | None
    title: str = ""
    published: datetime | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Sitemap:
    kind: Literal["urlset", "index"]
    entries: tuple[SitemapEntry, ...]


def gunzip_capped(data: bytes, max_bytes: int) -> bytes:
    """``data`` inflated when it is a gzip file, never past ``max_bytes`` (a gzip bomb)."""
    if not data.startswith(_GZIP_MAGIC):
        return data
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise FeedError(f"sitemap is not a readable gzip file: {exc}") from None
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise FeedError(f"gzip sitemap inflates past the {max_bytes}-byte cap")
    return out


def parse_sitemap(data: bytes, url: str, *, max_urls: int = MAX_URLS) -> Sitemap:
    """A sitemap (urlset or index) fetched from ``url``; ``FeedError`` when it is not one."""
    if not data.strip():
        raise FeedError("sitemap is empty")
    try:
        root = read_xml(data)
    except XmlUnreadable as exc:
        if exc.line is None:
            raise FeedError(f"sitemap refused: {exc.reason}") from None
        raise FeedError(
            f"not a readable sitemap: line {exc.line}, column {exc.column}: {exc.reason}"
        ) from None
    tag = _local(root.tag)
    if tag not in ("urlset", "sitemapindex"):
        raise FeedError(f"not a sitemap: its root element is <{tag}>")
    child = "url" if tag == "urlset" else "sitemap"
    entries: list[SitemapEntry] = []
    for node in root:
        if _local(node.tag) != child:
            continue
        if len(entries) >= max_urls:
            raise FeedError(f"sitemap lists more than {max_urls} URLs")
        entry = _entry(node, url)
        if entry is not None:
            entries.append(entry)
    return Sitemap("urlset" if tag == "urlset" else "index", tuple(entries))


def _entry(node: Element, base: str) -> SitemapEntry | None:
    fields: dict[str, str] = {}
    for part in node.iter():
        name = _local(part.tag)
        if part is not node and part.text and name not in fields:
            fields[name] = part.text.strip()
    link = http_url(fields.get("loc"), base)
    if link is None:
        return None
    language = fields.get("language", "").lower()[:8] or None
    return SitemapEntry(
        url=link,
        lastmod=_date(fields.get("lastmod")),
        title=" ".join(fields.get("title", "").split()),
        published=_date(fields.get("publication_date")),
        language=language,
    )


def _local(tag: object) -> str:
    # "{http://www.sitemaps.org/schemas/sitemap/0.9}url" -> "url"; news: fields alike.
    return str(tag).rpartition("}")[2]


def _date(value: str | None) -> datetime | None:
    """W3C datetime: a date, or a date and time with a zone (``Z`` included)."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
