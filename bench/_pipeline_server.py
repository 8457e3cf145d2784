"""The pipeline benchmark's news sites: many local origins answering after a set latency.

One asyncio HTTP/1.1 server (keep-alive, GET only) listens on 127.0.0.1, 127.0.0.2, ...
(all of 127.0.0.0/8 is loopback), so the sources look like many origins and per-origin
politeness limits apply as they would on the web. It runs in a thread of the
benchmark's parent process: the sides under test run in child processes, so the
server's own CPU time is never charged to them.

URL space, generated on the fly:
- ``/a/<i>.xml``: source i of the 304 cycle, an RSS feed without entries whose ETag
  never changes, so a conditional GET is answered 304;
- ``/b/<i>.xml``: source i of the whole-flow cycle, an RSS feed of ``per_feed`` new
  entries linking to ``/b/<i>/<j>.html``;
- ``/b/<i>/<j>.html``: a page of the extraction corpus, read at start;
- anything else (``/robots.txt`` among them) is a 404.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

MAX_HEAD = 64 * 1024
MAX_HOSTS = 254  # 127.0.0.1 to 127.0.0.254
_A_FEED = re.compile(r"^/a/(\d+)\.xml$")
_B_FEED = re.compile(r"^/b/(\d+)\.xml$")
_B_PAGE = re.compile(r"^/b/(\d+)/(\d+)\.html$")
_REASONS = {200: "OK", 304: "Not Modified", 400: "Bad Request", 404: "Not Found"}


def load_pages(folder: Path) -> list[bytes]:
    """The corpus's HTML pages, decompressed, in a stable order."""
    return [gzip.decompress(p.read_bytes()) for p in sorted((folder / "html").glob("*.html.gz"))]


@dataclass
class Stats:
    """What the server answered since the last reset; written by the server thread only."""

    responses: int = 0
    connections: int = 0  # TCP connections accepted: keep-alive reuse shows here
    not_modified: int = 0
    progress: int = 0  # feed and article answers: what a progress bar counts
    last_progress: float = 0.0  # time.perf_counter() of the latest one


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes = b""
    content_type: str = "text/plain"
    etag: str | None = None
    counts: bool = False  # a feed or an article, not robots.txt or a stray URL


class Sites:
    """The servers, their content and their counters."""

    def __init__(self, hosts: int, pages: Sequence[bytes], per_feed: int) -> None:
        self.hosts = hosts
        self.pages = list(pages)
        self.per_feed = per_feed
        self.latency = 0.0  # set by the parent between phases; read per response
        self.stats = Stats()
        self.origins: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._servers: list[asyncio.Server] = []
        # Published dates are fresh so that no rule's max_age can discard an article.
        self._published = format_datetime(datetime.now(UTC) - timedelta(hours=1))

    def __enter__(self) -> Sites:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        self.origins = future.result(timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    def reset(self, latency: float) -> None:
        """Zero the counters and set the latency; call only while no client is running."""
        self.latency = latency
        self.stats = Stats()

    def origin_of(self, source: int) -> str:
        return self.origins[source % len(self.origins)]

    async def _start(self) -> list[str]:
        origins = []
        for n in range(1, self.hosts + 1):
            host = f"127.0.0.{n}"
            server = await asyncio.start_server(self._serve, host, 0, limit=MAX_HEAD)
            self._servers.append(server)
            port = server.sockets[0].getsockname()[1]
            origins.append(f"http://{host}:{port}")
        return origins

    async def _stop(self) -> None:
        for server in self._servers:
            server.close()
        for server in self._servers:
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        host, port = writer.get_extra_info("sockname")[:2]
        origin = f"http://{host}:{port}"
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                path, headers = _parse_head(head)
                answer = self._answer(origin, path, headers)
                if self.latency:
                    await asyncio.sleep(self.latency)
                writer.write(_render(answer))
                await writer.drain()
                self._count(answer)
                if headers.get("connection", "").lower() == "close":
                    return
        except ConnectionError:
            return
        finally:
            writer.close()

    def _count(self, answer: _Answer) -> None:
        stats = self.stats
        stats.responses += 1
        if answer.status == 304:
            stats.not_modified += 1
        if answer.counts:
            stats.progress += 1
            stats.last_progress = time.perf_counter()

    def _answer(self, origin: str, path: str | None, headers: dict[str, str]) -> _Answer:
        if path is None:
            return _Answer(400)
        if m := _A_FEED.match(path):
            etag = f'"a-{m.group(1)}-v1"'
            if headers.get("if-none-match") == etag:
                return _Answer(304, etag=etag, counts=True)
            return _Answer(200, self._feed(origin, int(m.group(1)), 0), _RSS, etag, True)
        if m := _B_FEED.match(path):
            body = self._feed(origin, int(m.group(1)), self.per_feed)
            return _Answer(200, body, _RSS, f'"b-{m.group(1)}-v1"', True)
        if (m := _B_PAGE.match(path)) and self.pages:
            index = int(m.group(1)) * self.per_feed + int(m.group(2))
            return _Answer(200, self.pages[index % len(self.pages)], "text/html", counts=True)
        return _Answer(404, b"not found\n")

    def _feed(self, origin: str, source: int, entries: int) -> bytes:
        items = "".join(
            f"<item><title>Story {source}.{j}</title>"
            f"<link>{origin}/b/{source}/{j}.html</link>"
            f'<guid isPermaLink="true">{origin}/b/{source}/{j}.html</guid>'
            f"<pubDate>{self._published}</pubDate>"
            f"<description>Summary of story {source}.{j}.</description></item>"
            for j in range(entries)
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>Bench source {source}</title><link>{escape(origin)}/</link>"
            f"<description>Feed {source} of the pipeline benchmark</description>"
            f"{items}</channel></rss>\n"
        ).encode()


_RSS = "application/rss+xml"


def _parse_head(head: bytes) -> tuple[str | None, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    if len(parts) != 3 or parts[0] != "GET":
        return None, headers
    return parts[1].split("?", 1)[0], headers


def _render(answer: _Answer) -> bytes:
    reason = _REASONS.get(answer.status, "Unknown")
    lines = [f"HTTP/1.1 {answer.status} {reason}", f"Content-Length: {len(answer.body)}"]
    if answer.status != 304:
        lines.append(f"Content-Type: {answer.content_type}")
    if answer.etag:
        lines.append(f"ETag: {answer.etag}")
    head = "\r\n".join(lines) + "\r\n\r\n"
    # A 304 carries no body, whatever its Content-Length would have said.
    return head.encode("latin-1") + (b"" if answer.status == 304 else answer.body)
