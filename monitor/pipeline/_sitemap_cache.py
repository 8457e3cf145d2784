"""Child sitemaps as last read, so that an unchanged one costs a 304 and nothing more.

A ``kind: sitemap`` source's index names its children; each poll asks for them again
(see _sitemap). The runtime keeps each child's validators and parsed entries here, and
the next poll sends them: a child that did not change answers 304 and its entries are
read from here, neither downloaded nor parsed again. Kept in memory only: a restart or
a reload reads every child once more.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from monitor.feeds import MAX_URLS, Sitemap
from monitor.fetch import FetchResult

# Entries kept across all cached child sitemaps (about 200 bytes each): two full ones.
CACHE_ENTRIES = 2 * MAX_URLS


@dataclass(frozen=True, slots=True)
class _Kept:
    etag: str | None
    last_modified: str | None
    sitemap: Sitemap


class SitemapCache:
    """Child sitemaps as last read: their validators and parsed entries, least recently
    used dropped first once ``max_entries`` entries are kept in all."""

    def __init__(self, max_entries: int = CACHE_ENTRIES) -> None:
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._entries = 0
        self._max = max_entries

    def get(self, url: str) -> _Kept | None:
        kept = self._kept.get(url)
        if kept is not None:
            self._kept.move_to_end(url)
        return kept

    def put(self, url: str, reply: FetchResult, sitemap: Sitemap) -> None:
        self.drop(url)
        if not (reply.etag or reply.last_modified) or len(sitemap.entries) > self._max:
            return  # nothing to ask with next time, or too big to keep
        self._kept[url] = _Kept(reply.etag, reply.last_modified, sitemap)
        self._entries += len(sitemap.entries)
        while self._entries > self._max:
            _, oldest = self._kept.popitem(last=False)
            self._entries -= len(oldest.sitemap.entries)

    def drop(self, url: str) -> None:
        kept = self._kept.pop(url, None)
        if kept is not None:
            self._entries -= len(kept.sitemap.entries)
