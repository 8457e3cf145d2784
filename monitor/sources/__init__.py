"""Sources as users have them: OPML subscription lists, a site's address, sources.yaml.

``read_opml`` / ``write_opml`` move subscriptions in and out of feed readers;
``Discovery`` finds the feeds (or sitemap, or listing page) of a site, section or
article URL through the project's fetcher; ``SourcesFile`` appends sources to a
sources.yaml and keeps everything else in it as the user wrote it. The command line
(``monitor sources``) wires them.
"""

from monitor.sources._discover import Discovery, Found, discover
from monitor.sources._opml import OpmlFeed, read_opml, slug, write_opml
from monitor.sources._yamledit import SourcesFile, dump_entries, feed_key

__all__ = [
    "Discovery",
    "Found",
    "OpmlFeed",
    "SourcesFile",
    "discover",
    "dump_entries",
    "feed_key",
    "read_opml",
    "slug",
    "write_opml",
]
