"""Feeds: fetched feed bytes -> ``Feed`` of ``FeedEntry`` records (pure, no I/O).

The pipeline hands ``parse_feed`` the bytes ``monitor.fetch`` downloaded, never a URL:
feedparser would happily fetch URLs and open files on its own. Each entry's URL then
goes to ``monitor.dedupe`` and, if new, to extraction. RSS, Atom and RDF go through
feedparser, JSON Feed through its own small adapter (``_jsonfeed``); a sitemap is read by
``parse_sitemap``; an HTML page given as a feed is named as such, with the feeds it links
to (``feed_links``, which feed discovery also uses).
"""

from monitor.feeds._html import FeedLink, feed_links, is_login_page, looks_like_html
from monitor.feeds._model import Feed, FeedEntry
from monitor.feeds._parse import parse_feed
from monitor.feeds._sitemap import MAX_URLS, Sitemap, SitemapEntry, gunzip_capped, parse_sitemap
from monitor.feeds._xml import XmlUnreadable, read_xml

__all__ = [
    "MAX_URLS",
    "Feed",
    "FeedEntry",
    "FeedLink",
    "Sitemap",
    "SitemapEntry",
    "XmlUnreadable",
    "feed_links",
    "gunzip_capped",
    "is_login_page",
    "looks_like_html",
    "parse_feed",
    "parse_sitemap",
    "read_xml",
]
