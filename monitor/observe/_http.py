"""``--http HOST:PORT``: a tiny asyncio HTTP/1.1 server, and its ``/healthz`` + ``/metrics``.

Health means the scheduler dispatched recently and the database answers; anything else
is 503, so a container orchestrator restarts a wedged daemon.

The server parses a request into a :class:`Request` (method, path, query string,
headers) and writes back the :class:`Response` a handler returns; HEAD gets the GET
answer without its body, and any other method a 405. It reads no request body and
closes each connection after one answer: its clients are a browser, a scraper and a
probe, none of which needs more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from monitor.errors import ConfigError
from monitor.observe._log import event
from monitor.observe._metrics import Metrics
from monitor.text import split_host_port

log = logging.getLogger("monitor.http")

HealthCheck = Callable[[], Awaitable[tuple[bool, str]]]

# A request line or header beyond these is refused: nothing we serve needs more.
MAX_LINE = 8192
MAX_HEADERS = 100
READ_TIMEOUT = 5.0

_REASONS = {
    200: "OK", 303: "See Other", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
    405: "Method Not Allowed", 500: "Internal Server Error", 503: "Service Unavailable",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # decoded, without the query string
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-cased names

    def arg(self, name: str, default: str = "") -> str:
        """The first value of a query-string parameter."""
        values = self.query.get(name)
        return values[0] if values else default


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Awaitable[Response]]


def parse_listen(value: str) -> tuple[str, int]:
    try:
        return split_host_port(value)
    except ValueError as exc:
        raise ConfigError(f"--http {value!r}: {exc}") from None


def text_response(status: int, text: str) -> Response:
    return Response(status, text.encode())


def observe_routes(
    metrics: Metrics, health: HealthCheck, fallback: Handler | None = None
) -> Handler:
    """``/healthz`` and ``/metrics``; any other path goes to ``fallback`` (else 404)."""

    async def handle(request: Request) -> Response:
        if request.path == "/metrics":
            return Response(200, metrics.render(), "text/plain; version=0.0.4; charset=utf-8")
        if request.path == "/healthz":
            ok, detail = await health()
            return text_response(200 if ok else 503, detail)
        if fallback is not None:
            return await fallback(request)
        return text_response(404, "not found: try /healthz or /metrics\n")

    return handle


async def serve(host: str, port: int, handler: Handler) -> asyncio.Server:
    """Listen on ``host:port`` and answer every request with ``handler``."""

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await _read_request(reader)
            response = await _answer(request, handler)
            writer.write(
                _encode(response, head_only=request is not None and request.method == "HEAD")
            )
            await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return await asyncio.start_server(on_connection, host, port, limit=MAX_LINE)


async def _answer(request: Request | None, handler: Handler) -> Response:
    if request is None:
        return text_response(400, "bad request\n")
    if request.method not in ("GET", "HEAD"):
        return Response(405, b"method not allowed\n", headers={"Allow": "GET, HEAD"})
    try:
        return await handler(request)
    except Exception as exc:
        # A bug in one page must not take the server down; the reason goes to the log,
        # never to the client (it could name a query or a path).
        event(log, "http handler failed", logging.ERROR, path=request.path, error=repr(exc))
        return text_response(500, "internal error\n")


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        line = await asyncio.wait_for(reader.readline(), READ_TIMEOUT)
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS + 1):
            raw = await asyncio.wait_for(reader.readline(), READ_TIMEOUT)
            if raw in (b"\r\n", b"\n", b""):
                break
            name, sep, value = raw.decode("latin-1").partition(":")
            if not sep:
                return None
            headers[name.strip().lower()] = value.strip()
        else:
            return None
    except (ValueError, asyncio.LimitOverrunError):
        return None  # a line longer than MAX_LINE
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return None
    try:
        target = urlsplit(parts[1])
        query = parse_qs(target.query, keep_blank_values=True, max_num_fields=50)
    except ValueError:
        return None  # too many fields, or an address urlsplit refuses
    return Request(parts[0].upper(), unquote(target.path) or "/", query, headers)


def _encode(response: Response, *, head_only: bool) -> bytes:
    reason = _REASONS.get(response.status, "")
    lines = [
        f"HTTP/1.1 {response.status} {reason}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in response.headers.items()),
    ]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + response.body
