"""One headless Chromium shared by every ``render: browser`` source, a page per render.

The browser starts on the first render and stops after ``idle`` seconds without one
(or on ``aclose``): a daemon whose sources are all plain HTML never runs it. Each
render gets a fresh browser context (no cookies, storage or cache shared between
pages), at most ``concurrency`` at once, within ``timeout`` seconds in all; the V8 heap
of each page is capped and the page's requests are counted and capped (see _route).
Chromium is Debian's (``executable_path``): Playwright's own browsers are never
downloaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from monitor.errors import RenderError, RenderUnavailable
from monitor.fetch import FetchResult
from monitor.observe import event
from monitor.render._route import PageFetch, Traffic
from monitor.text import redact_url

if TYPE_CHECKING:
    from playwright.async_api import Browser, Playwright

log = logging.getLogger("monitor.render")

INSTALL_HINT = (
    "render: browser needs Playwright and Chromium: `uv sync --extra browser` "
    "(or `pip install 'news-monitor[browser]'`) and `apt-get install chromium` "
    "(or set browser.chromium to its path)"
)
# Flags for a server: no GPU, no first-run or sync chatter. The dead proxy is a second
# wall behind the route interception: a request Chromium sent outside it (a WebSocket,
# a prefetch) goes to a port where nothing listens, never to the network.
_ARGS = (
    "--headless=new", "--disable-gpu", "--no-first-run", "--disable-sync",
    "--disable-background-networking", "--disable-component-update",
    "--disable-default-apps", "--disable-extensions", "--mute-audio",
    "--no-default-browser-check", "--disable-dev-shm-usage",
    "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RenderSettings:
    """The pool's limits (``browser:`` in sources.yaml)."""

    chromium: str = "/usr/bin/chromium"
    concurrency: int = 2
    timeout: float = 20.0
    max_requests: int = 100
    max_bytes: int = 60 * 2**20
    max_memory: int = 512 * 2**20
    idle: float = 60.0
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class Rendered:
    """A page after its scripts ran: its HTML, the document as served, and what the
    page's requests did (how many were fetched, which were refused and why)."""

    html: str
    document: FetchResult  # the document as fetched (its final URL, status, headers)
    fetched: int
    refused: tuple[tuple[str, str], ...]


class Renderer:
    """The pool: ``render(url, fetch)`` loads ``url`` in Chromium, every request it
    makes answered through ``fetch``. Close with ``aclose``."""

    def __init__(self, settings: RenderSettings = RenderSettings()) -> None:
        self.settings = settings
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._lock = asyncio.Lock()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._busy = 0
        self._last_used = 0.0
        self._idle_task: asyncio.Task[None] | None = None
        # Sources whose log already says the browser is missing (once is enough).
        self.told: set[str] = set()

    def _check_installed(self) -> None:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            raise RenderUnavailable(f"Playwright is not installed; {INSTALL_HINT}") from None
        path = self.settings.chromium
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise RenderUnavailable(f"no Chromium at {path}; {INSTALL_HINT}")

    async def _launch(self) -> Browser:
        async with self._lock:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            self._check_installed()
            from playwright.async_api import Error, async_playwright

            heap = max(64, self.settings.max_memory // 2**20)
            try:
                if self._playwright is None:
                    self._playwright = await async_playwright().start()
                self._browser = await self._playwright.chromium.launch(
                    executable_path=self.settings.chromium,
                    args=[*_ARGS, f"--js-flags=--max-old-space-size={heap}"],
                    timeout=self.settings.timeout * 1000,
                )
            except Error as exc:
                await self._stop()
                raise RenderUnavailable(f"Chromium did not start: {exc.message}") from None
            event(log, "browser started", chromium=self.settings.chromium)
            if self._idle_task is None or self._idle_task.done():
                self._idle_task = asyncio.create_task(self._close_when_idle())
            return self._browser

    async def render(self, url: str, fetch: PageFetch) -> Rendered:
        """``url`` after its scripts ran. Raises ``RenderUnavailable`` when Chromium or
        Playwright is missing, the fetch's own error when the document itself could not
        be had, ``RenderError`` when the page did not load in time."""
        async with self._slots:
            self._busy += 1
            try:
                browser = await self._launch()
                return await self._render(browser, url, fetch)
            finally:
                self._busy -= 1
                self._last_used = time.monotonic()

    async def _render(self, browser: Browser, url: str, fetch: PageFetch) -> Rendered:
        from playwright.async_api import Error

        from monitor.render._route import router

        s = self.settings
        traffic = Traffic(s.max_requests, s.max_bytes)
        context = await browser.new_context(
            service_workers="block", accept_downloads=False, user_agent=s.user_agent
        )
        try:
            await context.route_web_socket("**/*", _no_socket)
            await context.route("**/*", router(url, fetch, traffic))
            page = await context.new_page()
            async with asyncio.timeout(s.timeout):
                await _load(page, url, s.timeout)
                html = await page.content()
        except (TimeoutError, Error) as exc:
            if traffic.document_error is not None:
                raise traffic.document_error from None
            reason = "timed out" if isinstance(exc, TimeoutError) else exc.message.split("\n")[0]
            raise RenderError(f"the browser could not load the page: {reason}", url) from None
        finally:
            with contextlib.suppress(Error):
                await context.close()
        if traffic.document is None:
            raise traffic.document_error or RenderError("the page was not loaded", url)
        event(
            log, "page rendered", logging.DEBUG, url=redact_url(url),
            fetched=traffic.fetched, refused=len(traffic.refused),
        )  # fmt: skip
        return Rendered(html, traffic.document, traffic.fetched, tuple(traffic.refused))

    async def _close_when_idle(self) -> None:
        try:
            while self._browser is not None:
                await asyncio.sleep(min(self.settings.idle, 5.0))
                idle_for = time.monotonic() - self._last_used
                if self._busy == 0 and idle_for >= self.settings.idle:
                    async with self._lock:
                        if self._busy == 0:
                            await self._stop()
                            event(log, "browser stopped (idle)")
        except asyncio.CancelledError:
            # The event loop is shutting down (asyncio.run cancels what is left) or
            # aclose was called: Chromium must not outlive it.
            await self._stop()
            raise

    async def _stop(self) -> None:
        browser, self._browser = self._browser, None
        playwright, self._playwright = self._playwright, None
        if browser is not None:
            with contextlib.suppress(Exception):
                await browser.close()
        if playwright is not None:
            with contextlib.suppress(Exception):
                await playwright.stop()

    async def aclose(self) -> None:
        """Stop the browser (renders in flight fail)."""
        task, self._idle_task = self._idle_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._stop()


async def _load(page: Any, url: str, seconds: float) -> None:
    # "load" runs the page's scripts; the network then going quiet is when a
    # script-built article has arrived (bounded: some pages poll for ever).
    from playwright.async_api import TimeoutError as LoadTimeout

    await page.goto(url, wait_until="load", timeout=seconds * 1000)
    with contextlib.suppress(LoadTimeout):
        await page.wait_for_load_state("networkidle", timeout=min(5.0, seconds / 2) * 1000)


def _no_socket(socket: Any) -> None:
    # Never connected to a server: the page's WebSocket talks to nothing.
    return None
