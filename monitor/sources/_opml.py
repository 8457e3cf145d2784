"""OPML 1.0/2.0 subscription lists: read one into feeds to add, write our feeds as one.

Feed readers (Miniflux, FreshRSS, Feedly, Inoreader, NetNewsWire) export their
subscriptions as nested ``<outline>`` elements: folders, then feeds with an ``xmlUrl``.
A folder becomes a tag, as does each part of an OPML 2.0 ``category`` attribute; the
``htmlUrl`` is kept as the source's ``site``. The XML goes through defusedxml, which
refuses a DTD's entities (billion laughs, external entities) instead of expanding them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from monitor.config import SourceConfig
from monitor.errors import SourcesError
from monitor.feeds import XmlUnreadable, read_xml

MAX_OPML_BYTES = 10 * 2**20
MAX_DEPTH = 32  # folders within folders; a real export has two or three
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One subscription of an OPML file."""

    url: str
    title: str
    tags: tuple[str, ...]
    site: str | None


def read_opml(data: bytes, file: str) -> list[OpmlFeed]:
    """The feeds of an OPML document read from ``file``; ``SourcesError`` naming the file
    (and line) when it is not OPML."""
    if len(data) > MAX_OPML_BYTES:
        raise SourcesError(f"{file}: {len(data)} bytes, over the {MAX_OPML_BYTES}-byte cap")
    try:
        root = read_xml(data)
    except XmlUnreadable as exc:
        if exc.line is None:
            raise SourcesError(f"{file}: refused: {exc.reason}") from None
        raise SourcesError(
            f"{file}:{exc.line}:{exc.column}: not an OPML file (not XML: {exc.reason})"
        ) from None
    if root.tag.lower() != "opml":
        raise SourcesError(f"{file}: not an OPML file (its root element is <{root.tag}>)")
    body = next((node for node in root if node.tag.lower() == "body"), None)
    if body is None:
        raise SourcesError(f"{file}: not an OPML file (no <body>)")
    return list(_walk(body, (), 0, file))


def _walk(node: Element, folders: tuple[str, ...], depth: int, file: str) -> Iterator[OpmlFeed]:
    if depth > MAX_DEPTH:
        raise SourcesError(f"{file}: outlines nested deeper than {MAX_DEPTH} levels")
    for outline in node:
        if outline.tag.lower() != "outline":
            continue
        attrs = {key.lower(): value.strip() for key, value in outline.attrib.items()}
        label = " ".join((attrs.get("title") or attrs.get("text") or "").split())
        url = attrs.get("xmlurl")
        if url:
            tags = _unique(folders + _categories(attrs.get("category", "")))
            yield OpmlFeed(url, label, tags, attrs.get("htmlurl") or None)
        # A feed outline may hold more outlines in some exports; a folder always does.
        inner = folders if url or not label else (*folders, label)
        yield from _walk(outline, inner, depth + 1, file)


def _categories(value: str) -> tuple[str, ...]:
    # OPML 2.0: comma-separated, each a slash-delimited path ("/Tech/AI") or a plain tag.
    out: list[str] = []
    for item in value.split(","):
        out.extend(part.strip() for part in item.split("/") if part.strip())
    return tuple(out)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for item in items if item))


def write_opml(sources: Iterable[SourceConfig], title: str = "news-monitor sources") -> bytes:
    """Our feed sources as OPML 2.0: one folder per first tag, every tag in ``category``."""
    opml = Element("opml", version="2.0")
    head = SubElement(opml, "head")
    SubElement(head, "title").text = title
    SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC))
    body = SubElement(opml, "body")
    folders: dict[str, Element] = {}
    for source in sources:
        parent = body
        if source.tags:
            first = source.tags[0]
            if first not in folders:
                folders[first] = SubElement(body, "outline", text=first, title=first)
            parent = folders[first]
        attrs = {"type": "rss", "text": source.name, "title": source.name, "xmlUrl": source.url}
        if source.site:
            attrs["htmlUrl"] = source.site
        if source.tags:
            attrs["category"] = ",".join(source.tags)
        SubElement(parent, "outline", attrs)
    indent(opml)
    document: bytes = tostring(opml, encoding="utf-8")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + document + b"\n"


def slug(text: str, fallback: str = "source") -> str:
    """A source name from a title: lower-case ASCII words joined by hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _SLUG.sub("-", ascii_text.lower()).strip("-")[:60].strip("-") or fallback
