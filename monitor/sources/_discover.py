"""Feed discovery: from a site, section or article URL to the sources it can be read by.

In the order a reader would look: the URL itself (already a feed or a sitemap), the
feeds the page announces (``<link rel=alternate>`` of RSS, Atom or JSON Feed), the
usual feed paths (below the section, then at the site's root), then the ``Sitemap:``
lines of robots.txt; with no feed at all, the page itself as a ``kind: page`` listing.
Every request goes through the project's ``Fetcher``: the address guard, the size and
time caps, politeness, and robots.txt for the pages it crawls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from monitor.errors import FeedError, FetchError
from monitor.extract import extract_links
from monitor.feeds import (
    Feed,
    Sitemap,
    feed_links,
    gunzip_capped,
    looks_like_html,
    parse_feed,
    parse_sitemap,
)
from monitor.fetch import Fetcher, FetchResult, FetchSettings

if TYPE_CHECKING:
    from monitor.config import FetchConfig

USUAL_PATHS = (
    "feed/",
    "rss",
    "atom.xml",
    "feed.xml",
    "rss.xml",
    "index.xml",
    "feeds/posts/default",
)
USUAL_SITEMAPS = ("/sitemap.xml", "/sitemap_index.xml")
MAX_LINKED = 8  # alternate feeds previewed; a page listing fifty is a directory
MAX_SITEMAPS = 5
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


@dataclass(frozen=True, slots=True)
class Found:
    """One way to read the site: a feed, a sitemap or the page itself."""

    url: str
    kind: str  # feed | sitemap | page: the source's ``kind``
    format: str  # "RSS", "Atom", "JSON Feed", "Google News sitemap", "sitemap index", "page"
    title: str
    entries: int  # items, URLs, child sitemaps or article links
    newest: datetime | None
    via: str  # given | link | path | robots | page

    def as_json(self) -> dict[str, object]:
        return {
            "url": self.url, "kind": self.kind, "format": self.format, "title": self.title,
            "entries": self.entries, "newest": self.newest.isoformat() if self.newest else None,
            "via": self.via,
        }  # fmt: skip


async def discover(
    url: str, fetch: FetchConfig | None = None, *, allow_private: bool = False
) -> list[Found]:
    """``Discovery(...).run(url)`` with a fetcher built from a config's ``fetch:``."""
    settings = FetchSettings.from_config(fetch) if fetch is not None else FetchSettings()
    async with Fetcher(settings) as fetcher:
        return await Discovery(fetcher, allow_private=allow_private).run(url)


class Discovery:
    """The walk for one URL, with the fetcher and the address rule it runs under."""

    def __init__(self, fetcher: Fetcher, *, allow_private: bool = False) -> None:
        self.fetcher = fetcher
        self.allow_private = allow_private

    async def run(self, url: str) -> list[Found]:
        """Every way found to read ``url``'s site, best first. A failure to fetch ``url``
        itself is raised (``FetchError``); the probes that follow fail silently."""
        page = await self.fetcher.get(url, allow_private=self.allow_private, obey_robots=True)
        if not looks_like_html(page.content, page.content_type):
            given = self._as_feed(page, "given") or self._as_sitemap(page, "robots")
            if given is not None:
                return [given]
        found = await self._linked(page)
        if not found:
            found = await self._usual_paths(page.final_url)
        if found:
            return found
        sitemaps = await self._robots_sitemaps(page.final_url)
        return [*sitemaps, self._as_page(page)]

    async def _linked(self, page: FetchResult) -> list[Found]:
        links = feed_links(page.content, page.final_url)[:MAX_LINKED]
        found = await asyncio.gather(*(self._probe_feed(link.url, "link") for link in links))
        out = []
        for link, item in zip(links, found, strict=True):
            if item is not None:
                # The page's own label ("Comments", "Tech") tells apart feeds that all
                # carry the site's name as their title.
                title = item.title
                if link.title and link.title.lower() not in title.lower():
                    title = f"{title} ({link.title})" if title else link.title
                out.append(_replace_title(item, title))
        return out

    async def _usual_paths(self, url: str) -> list[Found]:
        for base in _bases(url):
            probes = [urljoin(base, path) for path in USUAL_PATHS]
            found = await asyncio.gather(*(self._probe_feed(p, "path") for p in probes))
            hits = _distinct([f for f in found if f is not None])
            if hits:
                return hits
        return []

    async def _robots_sitemaps(self, url: str) -> list[Found]:
        robots = urljoin(url, "/robots.txt")
        result = await self._get(robots)
        lines = result.content.decode("utf-8", "replace").splitlines() if result else []
        targets = []
        for line in lines:
            name, _, value = line.partition(":")
            if name.strip().lower() == "sitemap" and value.strip():
                targets.append(urljoin(robots, value.strip()))
        # No Sitemap: line (or no robots.txt): where CMSs put one by default.
        targets = targets or [urljoin(robots, path) for path in USUAL_SITEMAPS]
        out = []
        for target in list(dict.fromkeys(targets))[:MAX_SITEMAPS]:
            reply = await self._get(target)
            item = self._as_sitemap(reply, "robots") if reply is not None else None
            if item is not None:
                out.append(item)
        return out

    async def _probe_feed(self, url: str, via: str) -> Found | None:
        result = await self._get(url)
        return self._as_feed(result, via) if result is not None else None

    async def _get(self, url: str) -> FetchResult | None:
        try:
            return await self.fetcher.get(url, allow_private=self.allow_private, accept=FEED_ACCEPT)
        except FetchError:
            return None

    def _as_feed(self, result: FetchResult, via: str) -> Found | None:
        if looks_like_html(result.content, result.content_type):
            return None
        try:
            feed = parse_feed(result.content, result.final_url, content_type=result.content_type)
        except FeedError:
            return None
        return Found(
            result.final_url, "feed", _format(feed, result), feed.title, len(feed.entries),
            _latest(e.published or e.updated for e in feed.entries), via,
        )  # fmt: skip

    def _as_sitemap(self, result: FetchResult, via: str) -> Found | None:
        try:
            data = gunzip_capped(result.content, self.fetcher.settings.max_bytes)
            sitemap = parse_sitemap(data, result.final_url)
        except FeedError:
            return None
        return Found(
            result.final_url, "sitemap", _sitemap_format(sitemap), "", len(sitemap.entries),
            _latest(e.published or e.lastmod for e in sitemap.entries), via,
        )  # fmt: skip

    def _as_page(self, page: FetchResult) -> Found:
        try:
            links = extract_links(page.content, page.final_url)
        except Exception:  # a count for display; the page is still offered
            links = []
        tree = LexborHTMLParser(page.content[: 512 * 1024].decode("utf-8", "replace"))
        node = tree.css_first("title")
        title = " ".join(node.text().split()) if node is not None else ""
        return Found(page.final_url, "page", "page", title, len(links), None, "page")


def _bases(url: str) -> list[str]:
    """Where to look for the usual feed paths: below the section, then at the root."""
    parts = urlsplit(url)
    root = f"{parts.scheme}://{parts.netloc}/"
    path = parts.path or "/"
    section = path if path.endswith("/") else path.rsplit("/", 1)[0] + "/"
    here = f"{root.rstrip('/')}{section}"
    return [here, root] if here != root else [root]


def _distinct(found: Sequence[Found]) -> list[Found]:
    # /feed/ and /rss often answer the same feed: one row per (title, entries, newest).
    seen: set[tuple[str, int, datetime | None]] = set()
    out = []
    for item in found:
        key = (item.title, item.entries, item.newest)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _format(feed: Feed, result: FetchResult) -> str:
    head = result.content[:2048].lstrip()
    if head.startswith(b"{"):
        return "JSON Feed"
    if b"<feed" in head:
        return "Atom"
    if b"<rdf:RDF" in head or b"<RDF" in head:
        return "RDF"
    return "RSS"


def _sitemap_format(sitemap: Sitemap) -> str:
    if sitemap.kind == "index":
        return "sitemap index"
    news = any(e.title or e.published for e in sitemap.entries)
    return "Google News sitemap" if news else "sitemap"


def _latest(dates: Iterable[datetime | None]) -> datetime | None:
    known = [d for d in dates if d is not None]
    return max(known) if known else None


def _replace_title(item: Found, title: str) -> Found:
    return Found(item.url, item.kind, item.format, title, item.entries, item.newest, item.via)
