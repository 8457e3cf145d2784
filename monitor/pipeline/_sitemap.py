"""A ``kind: sitemap`` source's listing: its sitemap (or index of sitemaps), as entries.

Each ``<url>`` becomes a ``FeedEntry`` (its Google News title, date and language, its
``lastmod`` as the entry's ``updated``), so the rest of the poll treats it as a feed
entry: ``Store.known_keys`` drops what is stored, and a stored URL whose ``lastmod``
moved on is fetched again as an edit. Only new or changed pages are fetched, newest first.

A child sitemap is asked for with the validators it last came with (``SitemapCache``,
held by the runtime): an unchanged one answers 304 and its entries are read from what
was kept, neither downloaded nor parsed again.

The walk is bounded: indexes nest at most ``MAX_DEPTH`` levels, at most ``MAX_CHILDREN``
child sitemaps (the newest by ``lastmod``) are read per index and ``MAX_SITEMAPS`` per
poll, and a poll holds at most ``MAX_URLS`` URLs. Past a cap the poll fails with one
error naming it; the source backs off, nothing else is touched.
"""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.config import SourceConfig
from monitor.errors import FeedError, FetchError
from monitor.feeds import (
    MAX_URLS,
    FeedEntry,
    Sitemap,
    SitemapEntry,
    gunzip_capped,
    parse_sitemap,
)
from monitor.fetch import FetchResult
from monitor.pipeline._runtime import Runtime
from monitor.text import redact_url

MAX_DEPTH = 2  # an index of indexes of urlsets, and no deeper
MAX_CHILDREN = 20
MAX_SITEMAPS = 50
_OLDEST = datetime.min.replace(tzinfo=UTC)


async def sitemap_entries(rt: Runtime, source: SourceConfig, first: FetchResult) -> list[FeedEntry]:
    """The pages the sitemap at ``first`` (already fetched) lists, newest first."""
    found: dict[str, SitemapEntry] = {}
    # (the URL it was read from, what was fetched or a child's kept sitemap, its depth)
    pending: list[tuple[str, FetchResult | Sitemap, int]] = [(first.final_url, first, 0)]
    fetched = 1
    while pending:
        url, got, depth = pending.pop(0)
        where = redact_url(url)
        sitemap = got if isinstance(got, Sitemap) else await _parsed(rt, got, depth)
        if sitemap.kind == "urlset":
            for entry in sitemap.entries:
                found.setdefault(entry.url, entry)
            if len(found) > MAX_URLS:
                raise FeedError(f"sitemaps list more than {MAX_URLS} URLs ({where})")
            continue
        if depth + 1 > MAX_DEPTH:
            raise FeedError(f"sitemap indexes nest deeper than {MAX_DEPTH} levels ({where})")
        newest = sorted(sitemap.entries, key=lambda e: e.lastmod or _OLDEST, reverse=True)
        for child in newest[:MAX_CHILDREN]:
            if fetched >= MAX_SITEMAPS:
                break
            pending.append((child.url, await _child(rt, source, child.url), depth + 1))
            fetched += 1
    ordered = sorted(found.values(), key=_newest, reverse=True)
    return [_as_entry(e) for e in ordered]


async def _parsed(rt: Runtime, reply: FetchResult, depth: int) -> Sitemap:
    """``reply``'s sitemap; a child's is kept with its validators for the next poll."""
    from monitor.pipeline._listing import within  # _listing dispatches here

    try:
        data = gunzip_capped(reply.content, rt.fetcher.settings.max_bytes)
        sitemap = await within(rt.stage_budget, parse_sitemap, data, reply.final_url)
    except FeedError as exc:
        rt.sitemaps.drop(reply.url)
        raise FeedError(f"{exc} ({redact_url(reply.final_url)})") from None
    if depth:
        rt.sitemaps.put(reply.url, reply, sitemap)
    return sitemap


async def _child(rt: Runtime, source: SourceConfig, url: str) -> FetchResult | Sitemap:
    """The child sitemap at ``url``: fetched, or as kept when it answers 304."""
    kept = rt.sitemaps.get(url)
    try:
        reply = await rt.fetcher.get(
            url,
            etag=kept.etag if kept else None,
            last_modified=kept.last_modified if kept else None,
            allow_private=rt.config.source_allows_private(source),
        )
    except FetchError as exc:
        # Its kind (timeout, http_status...) and Retry-After stay; the message says
        # which child of the index failed.
        exc.args = (f"{exc} (child sitemap {redact_url(url)})",)
        raise
    rt.metrics.fetch_seconds.observe(reply.elapsed)
    if not reply.not_modified:
        return reply
    if kept is None:  # a 304 to a GET that asked for nothing: there is nothing to read
        raise FeedError(f"child sitemap {redact_url(url)} answered 304 without validators")
    return kept.sitemap


def _newest(entry: SitemapEntry) -> datetime:
    return entry.published or entry.lastmod or _OLDEST


def _as_entry(entry: SitemapEntry) -> FeedEntry:
    return FeedEntry(
        guid=None,
        url=entry.url,
        title=entry.title,
        summary="",
        content="",
        published=entry.published,
        updated=entry.lastmod,
        authors=(),
        language=entry.language,
    )
