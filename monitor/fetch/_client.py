"""The Fetcher: every byte news-monitor reads from or posts to the network goes
through it.

A GET walks its redirects by hand so each hop is checked by the guard (scheme,
literal address, then the address actually connected to), asked of robots.txt when
the caller crawls pages, and spaced per origin by the politeness rules. One deadline
covers the whole chain, body included; time spent queueing behind our own politeness
rules is not charged to it, since the server is not the one being slow then.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType, TracebackType

import httpcore
import httpx

from monitor.errors import (
    BadEncoding,
    BlockedAddress,
    BodyTooLarge,
    ConnectFailed,
    DisallowedByRobots,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    TooManyRedirects,
)
from monitor.fetch._guard import ALLOW_PRIVATE, GuardedTransport, SystemResolver, check_url
from monitor.fetch._headers import parse_content_type, parse_retry_after
from monitor.fetch._limits import ACCEPT_ENCODING, read_capped
from monitor.fetch._politeness import Origin, Politeness, origin_of
from monitor.fetch._robots import MAX_ROBOTS_BYTES, RobotsAnswer, RobotsCache
from monitor.fetch._types import FetchResult, FetchSettings, PostResult, Resolver
from monitor.observe import event
from monitor.text import redact_url

logger = logging.getLogger(__name__)

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_COOLDOWN_STATUSES = frozenset({429, 503})
POST_BODY_LIMIT = 64 * 1024
# An unused body smaller than this, arriving within this time, is read to keep its
# connection alive; reading it costs less than a new connection.
DRAIN_BYTES = 64 * 1024
DRAIN_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class _Reply:
    url: httpx.URL
    status: int
    headers: httpx.Headers
    content: bytes


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = asyncio.get_running_loop().time() + seconds

    def extend(self, seconds: float) -> None:
        self.at += seconds


@contextmanager
def _translated(url: str, deadline: _Deadline) -> Iterator[None]:
    """httpx's and asyncio's exceptions become our typed errors, carrying the URL."""
    try:
        yield
    except FetchError as exc:
        exc.url = exc.url or url
        raise
    except TimeoutError as exc:
        raise FetchTimeout(f"total deadline of {deadline.seconds:g}s reached", url) from exc
    except httpx.TimeoutException as exc:
        raise FetchTimeout(f"{type(exc).__name__}: {exc or 'no answer in time'}", url) from exc
    except httpx.ConnectError as exc:
        raise ConnectFailed(f"cannot connect: {exc}", url) from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}", url) from exc


def _parse_url(url: str) -> httpx.URL:
    try:
        return httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchError(f"invalid URL: {exc}", url) from exc


async def _drain(response: httpx.Response) -> None:
    """Read and drop a small unused body (a 304's empty one, a redirect's or a 404's
    few bytes), so its connection goes back to the pool instead of being closed.

    Best effort, within DRAIN_BYTES and DRAIN_SECONDS: a large or slow body is left
    unread and its connection closed, as before; the status is the answer either way.
    """
    length = response.headers.get("content-length", "").strip()
    if length.isdigit() and int(length) > DRAIN_BYTES:
        return
    read = 0
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read > DRAIN_BYTES:
                    return
    except (TimeoutError, httpx.HTTPError):
        return  # the connection is closed with the response; nothing else is lost


def _product_token(user_agent: str) -> str:
    # robots.txt groups name a product token ("news-monitor"), not the whole UA string.
    token = user_agent.split("/", 1)[0].strip()
    return token.split()[0] if token else "*"


class Fetcher:
    """One shared httpx.AsyncClient behind the guard, caps and politeness rules.

    ``network_backend`` replaces the TCP connector under the guard; tests use it to
    route a public-looking address to a local server. Use as an async context manager
    or call ``aclose``.
    """

    def __init__(
        self,
        settings: FetchSettings = FetchSettings(),  # noqa: B008 - frozen, safe to share
        *,
        resolver: Resolver | None = None,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._settings = settings
        self._client = httpx.AsyncClient(
            transport=GuardedTransport(
                resolver or SystemResolver(), network_backend, http2=settings.http2
            ),
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                pool=settings.total_timeout,
            ),
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            follow_redirects=False,
            trust_env=False,
        )
        self._politeness = Politeness(settings.per_origin_concurrency, settings.min_delay)
        self._agent = _product_token(settings.user_agent)
        self._robots = RobotsCache(self._agent)

    @property
    def settings(self) -> FetchSettings:
        return self._settings

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        allow_private: bool = False,
        obey_robots: bool = False,
        accept: str | None = None,
    ) -> FetchResult:
        """GET ``url``: a 2xx or a 304 is returned, anything else raised as a FetchError."""
        started = time.monotonic()
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if accept:
            headers["Accept"] = accept
        reply = await self._follow(
            url,
            headers,
            allow_private=allow_private,
            obey_robots=obey_robots,
            max_bytes=self._settings.max_bytes,
        )
        return self._result(url, reply, etag, last_modified, time.monotonic() - started)

    async def post(
        self,
        url: str,
        content: bytes,
        headers: Mapping[str, str],
        *,
        allow_private: bool = False,
        timeout: float = 15.0,  # noqa: ASYNC109 - the published API; a total deadline
    ) -> PostResult:
        """POST once, never following a redirect; any status is returned, not raised.

        Politeness rules do not apply: a webhook receiver is the user's own endpoint.
        """
        target = _parse_url(url)
        check_url(target, allow_private)
        deadline = _Deadline(timeout)

        async def consume(response: httpx.Response) -> bytes:
            try:
                return await read_capped(
                    response.aiter_raw(),
                    response.headers.get("content-encoding"),
                    POST_BODY_LIMIT,
                    url,
                    truncate=True,
                )
            except BadEncoding:
                return b""  # the status is the answer; a garbled body must not hide it

        reply = await self._exchange(
            "POST", target, dict(headers), content, allow_private, deadline, consume
        )
        return PostResult(
            reply.status, MappingProxyType(dict(reply.headers.items())), reply.content
        )

    async def _follow(
        self,
        url: str,
        headers: Mapping[str, str],
        *,
        allow_private: bool,
        obey_robots: bool,
        max_bytes: int,
        truncate: bool = False,
    ) -> _Reply:
        current = _parse_url(url)
        deadline = _Deadline(self._settings.total_timeout)
        for _ in range(self._settings.max_redirects + 1):
            reply = await self._hop(
                current, headers, allow_private, obey_robots, deadline, max_bytes, truncate
            )
            location = reply.headers.get("location")
            if reply.status not in _REDIRECTS or location is None:
                return reply
            try:
                current = current.join(location.strip())
            except httpx.InvalidURL as exc:
                raise FetchError(f"invalid redirect Location {location!r}", str(current)) from exc
            event(
                logger,
                "redirect",
                logging.DEBUG,
                url=redact_url(url),
                location=redact_url(str(current)),
            )
        raise TooManyRedirects(f"more than {self._settings.max_redirects} redirects", url)

    async def _hop(
        self,
        url: httpx.URL,
        headers: Mapping[str, str],
        allow_private: bool,
        obey_robots: bool,
        deadline: _Deadline,
        max_bytes: int,
        truncate: bool,
    ) -> _Reply:
        text = str(url)
        check_url(url, allow_private)
        origin = origin_of(url)
        self._politeness.check_cooldown(origin, text)
        loop = asyncio.get_running_loop()
        waiting_since = loop.time()
        if obey_robots:
            await self._obey_robots(url, origin, allow_private)
        async with self._politeness.slot(origin):
            self._politeness.check_cooldown(origin, text)
            deadline.extend(loop.time() - waiting_since)

            async def consume(response: httpx.Response) -> bytes:
                return await self._body(response, max_bytes, truncate)

            return await self._exchange("GET", url, headers, None, allow_private, deadline, consume)

    async def _exchange(
        self,
        method: str,
        url: httpx.URL,
        headers: Mapping[str, str],
        content: bytes | None,
        allow_private: bool,
        deadline: _Deadline,
        consume: Callable[[httpx.Response], Awaitable[bytes]],
    ) -> _Reply:
        with _translated(str(url), deadline):
            async with asyncio.timeout_at(deadline.at):
                request = self._client.build_request(
                    method,
                    url,
                    headers=headers,
                    content=content,
                    extensions={ALLOW_PRIVATE: allow_private},
                )
                response = await self._client.send(request, stream=True)
                try:
                    body = await consume(response)
                finally:
                    await response.aclose()
        return _Reply(url, response.status_code, response.headers, body)

    async def _body(self, response: httpx.Response, max_bytes: int, truncate: bool) -> bytes:
        if not 200 <= response.status_code < 300:
            await _drain(response)
            return b""  # redirects, 304 and errors: their bodies are never used
        url = str(response.url)
        length = response.headers.get("content-length", "").strip()
        if not truncate and length.isdigit() and int(length) > max_bytes:
            raise BodyTooLarge(f"Content-Length {length} exceeds {max_bytes} bytes", url)
        return await read_capped(
            response.aiter_raw(),
            response.headers.get("content-encoding"),
            max_bytes,
            url,
            truncate=truncate,
        )

    async def _obey_robots(self, url: httpx.URL, origin: Origin, allow_private: bool) -> None:
        robots = url.copy_with(path="/robots.txt", query=None, fragment=None)

        async def fetch() -> RobotsAnswer | None:
            try:
                reply = await self._follow(
                    str(robots),
                    {},
                    allow_private=allow_private,
                    obey_robots=False,
                    max_bytes=MAX_ROBOTS_BYTES,
                    truncate=True,
                )
            except TooManyRedirects:
                return None
            except BlockedAddress as exc:
                if exc.url == str(robots):
                    raise  # the origin itself is refused: the page would be too
                return None  # a redirect out of bounds: robots.txt is unavailable
            return RobotsAnswer(reply.status, reply.content)

        verdict = await self._robots.verdict(origin, str(url), fetch)
        if verdict.crawl_delay is not None:
            self._politeness.note_crawl_delay(origin, verdict.crawl_delay)
        if not verdict.allowed:
            raise DisallowedByRobots(f"{verdict.reason} for agent {self._agent}", str(url))

    def _result(
        self,
        url: str,
        reply: _Reply,
        etag: str | None,
        last_modified: str | None,
        elapsed: float,
    ) -> FetchResult:
        headers = MappingProxyType({k.lower(): v for k, v in reply.headers.items()})
        status = reply.status
        not_modified = status == 304
        if not not_modified and not 200 <= status < 300:
            raw = headers.get("retry-after")
            retry_after = parse_retry_after(raw) if raw else None
            if status in _COOLDOWN_STATUSES and retry_after is not None:
                self._politeness.note_retry_after(origin_of(reply.url), status, retry_after)
            raise HTTPStatusError(
                f"HTTP {status}", str(reply.url), status=status, retry_after=retry_after
            )
        media, charset = parse_content_type(headers.get("content-type"))
        return FetchResult(
            url=url,
            final_url=str(reply.url),
            status=status,
            headers=headers,
            content=reply.content,
            charset=charset,
            content_type=media,
            # A 304 need not repeat the validators; the caller's still hold then.
            etag=headers.get("etag") or (etag if not_modified else None),
            last_modified=headers.get("last-modified") or (last_modified if not_modified else None),
            not_modified=not_modified,
            elapsed=elapsed,
        )
