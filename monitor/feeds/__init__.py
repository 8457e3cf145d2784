"""Feeds: fetched feed bytes -> ``Feed`` of ``FeedEntry`` records (pure, no I/O).

The pipeline hands ``parse_feed`` the bytes ``monitor.fetch`` downloaded, never a URL:
feedparser would happily fetch URLs and open files on its own. Each entry's URL then
goes to ``monitor.dedupe`` and, if new, to extraction.
"""

from monitor.feeds._model import Feed, FeedEntry
from monitor.feeds._parse import parse_feed

__all__ = ["Feed", "FeedEntry", "parse_feed"]
