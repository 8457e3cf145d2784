"""One source's listing: fetch its feed or page, and the article links it holds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ParamSpec, TypeVar

from monitor.config import SourceConfig
from monitor.dedupe import canonical_url, url_key
from monitor.errors import StageTooSlow
from monitor.extract import extract_links
from monitor.feeds import FeedEntry
from monitor.fetch import FetchResult
from monitor.pages import FeedJob
from monitor.pipeline._runtime import Runtime

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class Candidate:
    """An entry to fetch: from a feed (with its own text) or a listing page (a link)."""

    url: str
    key: str
    entry: FeedEntry | None


@dataclass(frozen=True)
class Listing:
    """A fetched feed or listing page: its articles and its hints for the next poll."""

    result: FetchResult
    candidates: list[Candidate]
    ttl: float | None = None
    dates: tuple[datetime, ...] = ()
    malformed: str | None = None  # the feed's XML was broken; entries were recovered


async def fetch_candidates(
    rt: Runtime, source: SourceConfig, etag: str | None = None, last_modified: str | None = None
) -> Listing:
    """Fetch the feed or listing page; the articles it links to, deduplicated by URL."""
    result = await rt.fetcher.get(
        source.url,
        etag=etag,
        last_modified=last_modified,
        allow_private=rt.config.source_allows_private(source),
        obey_robots=source.kind == "page",
    )
    rt.metrics.fetch_seconds.observe(result.elapsed)
    if result.not_modified:
        return Listing(result, [])
    out: dict[str, Candidate] = {}
    # Reading a large page or feed takes a while: in a worker thread, within the stage
    # budget (StageTooSlow fails this poll, not the daemon), so other polls go on.
    budget = rt.stage_budget
    if source.kind == "page":
        links = await within(
            budget, extract_links, result.content, result.final_url, selector=source.link_selector
        )
        for link in links:
            key = url_key(canonical_url(link))
            out.setdefault(key, Candidate(link, key, None))
        return Listing(result, list(out.values()))
    if source.kind == "sitemap":
        from monitor.pipeline._sitemap import sitemap_entries  # which imports ``within``

        entries = await sitemap_entries(rt, source, result)
        ttl, malformed = None, None
    else:
        feed = await rt.parse_feed(FeedJob(result.content, result.final_url, result.content_type))
        entries, ttl, malformed = list(feed.entries), feed.ttl, feed.malformed
    for entry in entries:
        if entry.url:
            key = url_key(canonical_url(entry.url))
            out.setdefault(key, Candidate(entry.url, key, entry))
    dates = tuple(d for e in entries if (d := e.published or e.updated) is not None)
    return Listing(result, list(out.values()), ttl, dates, malformed)


async def within(budget: float, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``func`` in a worker thread, given ``budget`` seconds (else ``StageTooSlow``).

    A thread cannot be stopped: an overrun one finishes in the background and its answer
    is dropped. That is safe because every stage is bounded by construction (see
    docs/robustness.md); the budget is the last resort.
    """
    try:
        return await asyncio.wait_for(asyncio.to_thread(func, *args, **kwargs), budget)
    except TimeoutError:
        raise StageTooSlow(f"took more than {budget:g} s") from None
