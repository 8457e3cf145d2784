"""Every request the browser makes, answered by the project's own fetch client.

Chromium never talks to the network itself: each request it makes is intercepted
(Playwright's ``route``) and either refused or fetched by ``Fetcher.get``, so the
address guard, robots.txt, the size caps and the politeness rules apply to a page's
scripts and API calls exactly as to the page. What a page needs to build its text
(the document, scripts, XHR/fetch) is fetched; what it does not (images, fonts,
stylesheets, media, frames, beacons) and anything but a GET over http(s) is refused.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from monitor.errors import FetchError
from monitor.fetch import FetchResult
from monitor.observe import event
from monitor.text import redact_url

if TYPE_CHECKING:  # Playwright is an optional extra: imported when a render starts
    from playwright.async_api import Request, Route

log = logging.getLogger("monitor.render")

# The function that fetches one URL for the browser: the pipeline passes
# ``Fetcher.get`` with the source's private-network setting and robots obeyed.
PageFetch = Callable[[str], Awaitable[FetchResult]]

_FETCHED_TYPES = frozenset({"document", "script", "xhr", "fetch"})
# Headers handed back to the browser: the body is already decoded, so no
# Content-Encoding or Content-Length; no cookies (each page gets a fresh context).
_KEPT_HEADERS = ("content-type",)


@dataclass
class Traffic:
    """What one page's requests did: counted against its caps, kept for the log."""

    max_requests: int
    max_bytes: int
    fetched: int = 0
    received: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)
    document: FetchResult | None = None
    document_error: FetchError | None = None

    def refuse(self, url: str, reason: str) -> None:
        if len(self.refused) < 200:
            self.refused.append((url, reason))


def _why_not(request: Request, target: str, traffic: Traffic) -> str | None:
    """Why the browser may not have ``request`` answered; None when it may."""
    scheme = urlsplit(request.url).scheme
    if scheme not in ("http", "https"):
        return f"scheme {scheme}"
    if request.method != "GET":
        return f"method {request.method}"
    kind = request.resource_type
    if kind not in _FETCHED_TYPES:
        return f"not needed for text ({kind})"
    if kind == "document" and request.url != target:
        return "another document (a frame or a navigation away)"
    if traffic.fetched >= traffic.max_requests:
        return f"more than {traffic.max_requests} requests"
    if traffic.received >= traffic.max_bytes:
        return f"more than {traffic.max_bytes} bytes"
    return None


def router(
    target: str, fetch: PageFetch, traffic: Traffic
) -> Callable[[Route, Request], Awaitable[None]]:
    """The route handler for one page load of ``target``."""

    from playwright.async_api import Error as PlaywrightError

    async def handle(route: Route, request: Request) -> None:
        url = request.url
        reason = _why_not(request, target, traffic)
        if reason is None:
            traffic.fetched += 1
            try:
                result = await fetch(url)
            except FetchError as exc:
                reason = f"{exc.kind}: {exc}"
                if request.resource_type == "document":
                    traffic.document_error = exc
            else:
                traffic.received += len(result.content)
                if request.resource_type == "document":
                    traffic.document = result
                headers = {k: v for k, v in result.headers.items() if k in _KEPT_HEADERS}
                # The page may have been closed meanwhile (timeout): nothing to answer.
                with contextlib.suppress(PlaywrightError):
                    await route.fulfill(status=result.status, headers=headers, body=result.content)
                return
        traffic.refuse(url, reason)
        event(log, "browser request refused", logging.DEBUG, url=redact_url(url), reason=reason)
        with contextlib.suppress(PlaywrightError):
            await route.abort("blockedbyclient")

    return handle
