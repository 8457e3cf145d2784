"""The fetch stage: every request news-monitor makes to the network.

``Fetcher.get`` reads feeds and pages within caps on time, size and redirects, behind
an SSRF guard, politely per origin (concurrency, delay, Retry-After, robots.txt for
crawled pages), with conditional GET; ``Fetcher.post`` delivers webhooks through the
same guard. ``cache_lifetime`` and ``parse_retry_after`` read the scheduling hints the
servers give. Failures are the typed ``FetchError`` subclasses of ``monitor.errors``.
"""

from monitor.fetch._client import Fetcher
from monitor.fetch._headers import cache_lifetime, parse_retry_after
from monitor.fetch._types import FetchResult, FetchSettings, PostResult, Resolver

__all__ = [
    "FetchResult",
    "FetchSettings",
    "Fetcher",
    "PostResult",
    "Resolver",
    "cache_lifetime",
    "parse_retry_after",
]
