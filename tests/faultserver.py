"""A real HTTP/1.1 server on 127.0.0.1 that misbehaves on demand, for tests.

It runs in its own threads, so both plain and async tests can use it, and listens on
a free port. Each path is routed to a handler; the ready-made ones cover what the
network can throw at a fetcher (slow drip, endless body, lying Content-Length,
compression bombs, stacked encodings, redirect chains and loops, Retry-After,
conditional GET, hangs), and any callable taking an ``Exchange`` is a handler too::

    with FaultServer() as server:
        url = server.route("/feed.xml", Reply(rss, headers={"Content-Type": "application/rss+xml"}))
        ...                                   # fetch url
        assert server.hits("/feed.xml") == 1

As a pytest fixture::

    @pytest.fixture
    def fault() -> Iterator[FaultServer]:
        with FaultServer() as server:
            yield server

Routes match the path without its query string; unknown paths answer 404. Every
request is logged (method, path, lower-cased headers, body, start and end times)
before its handler runs, so a request that hangs still counts. Stopping the server
ends every handler promptly, hanging ones included.
"""

from __future__ import annotations

import contextlib
import functools
import select
import socket
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import brotli  # type: ignore[import-untyped]

Headers = Mapping[str, str] | Iterable[tuple[str, str]]
Handler = Callable[["Exchange"], None]
MiB = 1024 * 1024


@dataclass
class LoggedRequest:
    """One request as the server received it."""

    method: str
    path: str  # with its query string
    headers: dict[str, str]  # lower-cased names
    body: bytes
    started: float  # time.monotonic()
    finished: float | None = None  # set once its handler returned

    @property
    def route(self) -> str:
        return urlsplit(self.path).path


def _pairs(headers: Headers) -> list[tuple[str, str]]:
    return list(headers.items()) if isinstance(headers, Mapping) else list(headers)


def _bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


class Exchange:
    """One request being answered; what a handler receives."""

    def __init__(self, owner: FaultServer, http: _RequestHandler, request: LoggedRequest) -> None:
        self._owner = owner
        self._http = http
        self.request = request
        self.started = False
        self.chunked = False
        self.complete = False
        self.gone = False  # the client closed its end

    @property
    def stopping(self) -> bool:
        return self._owner._stopping.is_set()

    def start(self, status: int, headers: Headers = (), *, chunked: bool = False) -> None:
        """Send the status line and headers. Without a Content-Length in ``headers``,
        the body is chunked if asked, else delimited by closing the connection."""
        pairs = _pairs(headers)
        names = {name.lower() for name, _ in pairs}
        self._http.send_response(status)
        for name, value in pairs:
            self._http.send_header(name, value)
        if chunked:
            self._http.send_header("Transfer-Encoding", "chunked")
        elif "content-length" not in names and status not in (204, 304):
            self._http.send_header("Connection", "close")
            self._http.close_connection = True
        self._http.end_headers()
        self.started, self.chunked = True, chunked

    def write(self, data: bytes) -> bool:
        """Send part of the body; False once the client has gone away."""
        if self.gone or self.request.method == "HEAD":
            return not self.gone
        try:
            if self.chunked:
                self._http.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self._http.wfile.write(data)
        except OSError:
            self.gone = True
            self._http.close_connection = True
        return not self.gone

    def finish(self) -> None:
        """End the body (the last chunk, when chunked)."""
        if self.chunked and not self.gone:
            self.write(b"")  # a zero-length chunk terminates the body
        self.complete = not self.gone

    def respond(self, status: int = 200, headers: Headers = (), body: bytes | str = b"") -> None:
        """A complete response with a Content-Length (unless ``headers`` sets one)."""
        data = _bytes(body)
        pairs = _pairs(headers)
        bodiless = status in (204, 304)  # these never carry a body nor its length
        if not bodiless and not any(name.lower() == "content-length" for name, _ in pairs):
            pairs.append(("Content-Length", str(len(data))))
        self.start(status, pairs)
        if data and not bodiless:
            self.write(data)
        self.finish()

    def pause(self, seconds: float) -> bool:
        """Sleep; False if the server is stopping (the handler should return)."""
        return not self._owner._stopping.wait(seconds)

    def client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self._http.connection], [], [], 0)
            if readable:
                return bool(self._http.connection.recv(1, socket.MSG_PEEK) == b"")
        except (OSError, ValueError):
            return True
        return False

    def hold(self) -> None:
        """Answer nothing until the client leaves or the server stops."""
        while self.pause(0.05):
            if self.client_gone():
                self.gone = True
                return


# --- ready-made handlers ---------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A fixed response."""

    body: bytes | str = b""
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)

    def __call__(self, exchange: Exchange) -> None:
        exchange.respond(self.status, self.headers, self.body)


@dataclass(frozen=True)
class Delay:
    """Wait, then let another handler answer."""

    seconds: float
    then: Handler = Reply(b"ok")

    def __call__(self, exchange: Exchange) -> None:
        if exchange.pause(self.seconds):
            self.then(exchange)


@dataclass(frozen=True)
class Drip:
    """A body sent ``chunk`` bytes every ``interval`` seconds, with an honest length."""

    body: bytes = b"x" * 10_000
    interval: float = 0.05
    chunk: int = 1
    headers: Mapping[str, str] = field(default_factory=dict)

    def __call__(self, exchange: Exchange) -> None:
        exchange.start(200, [*self.headers.items(), ("Content-Length", str(len(self.body)))])
        for offset in range(0, len(self.body), self.chunk):
            if not exchange.pause(self.interval):
                return
            if not exchange.write(self.body[offset : offset + self.chunk]):
                return
        exchange.finish()


@dataclass(frozen=True)
class Endless:
    """A chunked body that never ends (until the client leaves or the server stops)."""

    chunk: bytes = b"x" * 65_536
    headers: Mapping[str, str] = field(default_factory=dict)

    def __call__(self, exchange: Exchange) -> None:
        exchange.start(200, self.headers, chunked=True)
        while not exchange.stopping and exchange.write(self.chunk):
            pass


@dataclass(frozen=True)
class HugeLength:
    """Announces ``length`` bytes, then trickles filler (16 KiB per 10 ms) forever."""

    length: int = 10**12
    headers: Mapping[str, str] = field(default_factory=dict)

    def __call__(self, exchange: Exchange) -> None:
        exchange.start(200, [*self.headers.items(), ("Content-Length", str(self.length))])
        while exchange.write(b"x" * 16_384) and exchange.pause(0.01):
            pass


def compress(data: bytes, encoding: str) -> bytes:
    """``data`` under one content coding: gzip, deflate (zlib-wrapped), deflate-raw,
    br; any other name leaves it unchanged."""
    if encoding == "gzip":
        packer = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    elif encoding == "deflate":
        packer = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS)
    elif encoding == "deflate-raw":
        packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    elif encoding == "br":
        return bytes(brotli.compress(data))
    else:
        return data
    return packer.compress(data) + packer.flush()


@dataclass(frozen=True)
class Compressed:
    """``body`` under each of ``encodings`` in turn, all named in Content-Encoding
    (so ``("gzip", "gzip")`` is a stacked encoding); ``deflate-raw`` is named deflate."""

    body: bytes | str
    encodings: tuple[str, ...] = ("gzip",)
    headers: Mapping[str, str] = field(default_factory=dict)

    def __call__(self, exchange: Exchange) -> None:
        data = _bytes(self.body)
        for encoding in self.encodings:
            data = compress(data, encoding)
        names = ", ".join("deflate" if e == "deflate-raw" else e for e in self.encodings)
        exchange.respond(200, [*self.headers.items(), ("Content-Encoding", names)], data)


@functools.lru_cache(maxsize=8)
def bomb(encoding: str, size: int) -> bytes:
    """``size`` zero bytes compressed (gzip, deflate or br): about a thousandth of that
    for gzip and deflate, a few hundred bytes for brotli. Cached: building one costs."""
    zeros = bytes(MiB)
    if encoding == "br":
        packer: Any = brotli.Compressor(quality=5)
        parts = [packer.process(zeros) for _ in range(size // MiB)]
        return b"".join(parts) + bytes(packer.finish())
    wbits = zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS
    deflater = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join(deflater.compress(zeros) for _ in range(size // MiB)) + deflater.flush()


@dataclass(frozen=True)
class Bomb:
    """A compression bomb: ``size`` bytes of zeros once decoded."""

    encoding: str = "gzip"
    size: int = 128 * MiB

    def __call__(self, exchange: Exchange) -> None:
        data = bomb(self.encoding, self.size)
        exchange.respond(200, {"Content-Encoding": self.encoding}, data)


@dataclass(frozen=True)
class Redirect:
    """A redirect to any Location at all (relative, another host, another scheme)."""

    location: str
    status: int = 302

    def __call__(self, exchange: Exchange) -> None:
        exchange.respond(self.status, {"Location": self.location})


@dataclass(frozen=True)
class Throttle:
    """A 429 (or 503) with an optional Retry-After, in seconds or as an HTTP date."""

    retry_after: str | None = "120"
    status: int = 429

    def __call__(self, exchange: Exchange) -> None:
        headers = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
        exchange.respond(self.status, headers, b"slow down")


@dataclass(frozen=True)
class Conditional:
    """A body with validators, answered by 304 when If-None-Match or
    If-Modified-Since shows the client already has it."""

    body: bytes | str
    etag: str | None = '"v1"'
    last_modified: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def _fresh(self, request: LoggedRequest) -> bool:
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None:  # RFC 9110: it takes precedence when present
            tags = [tag.strip() for tag in if_none_match.split(",")]
            return self.etag is not None and ("*" in tags or self.etag in tags)
        since = request.headers.get("if-modified-since")
        return since is not None and since == self.last_modified

    def __call__(self, exchange: Exchange) -> None:
        validators = dict(self.headers)
        if self.etag is not None:
            validators["ETag"] = self.etag
        if self.last_modified is not None:
            validators["Last-Modified"] = self.last_modified
        if self._fresh(exchange.request):
            exchange.respond(304, validators)
        else:
            exchange.respond(200, validators, self.body)


@dataclass(frozen=True)
class Hang:
    """Reads the request, then never answers."""

    def __call__(self, exchange: Exchange) -> None:
        exchange.hold()


class Sequence:
    """The n-th request gets the n-th handler; the last one answers from then on."""

    def __init__(self, *handlers: Handler) -> None:
        if not handlers:
            raise ValueError("Sequence needs at least one handler")
        self._handlers = handlers
        self._count = 0
        self._lock = threading.Lock()

    def __call__(self, exchange: Exchange) -> None:
        with self._lock:
            index = min(self._count, len(self._handlers) - 1)
            self._count += 1
        self._handlers[index](exchange)


def _not_found(exchange: Exchange) -> None:
    exchange.respond(404, {"Content-Type": "text/plain"}, b"no route")


# --- the server ------------------------------------------------------------------


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection frees its thread eventually
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read the request log instead

    def _read_body(self) -> bytes | None:
        """The request's body; None when the client went away before sending all of it
        (a real server never hands such a request to its application)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while line := self.rfile.readline():
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if not size:
                    break
                parts.append(self.rfile.read(size))
                if len(parts[-1]) < size:
                    return None
                self.rfile.readline()
            else:
                return None  # the connection closed before the last chunk
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        return body if len(body) == length else None

    def _dispatch(self) -> None:
        owner = self.server.owner
        body = self._read_body()
        if body is None:
            self.close_connection = True
            return
        request = LoggedRequest(
            method=self.command,
            path=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            started=time.monotonic(),
        )
        owner._log(request)
        exchange = Exchange(owner, self, request)
        try:
            owner._handler(request.route)(exchange)
        finally:
            request.finished = time.monotonic()
            if not exchange.complete:
                self.close_connection = True  # a half-sent response cannot be reused

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() joins every handler thread

    def __init__(self, owner: FaultServer, host: str) -> None:
        self.owner = owner
        super().__init__((host, 0), _RequestHandler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        self.owner._track(request, True)
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.owner._track(request, False)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            return  # clients hanging up mid-response is the point of most routes
        if error is not None:
            self.owner.errors.append(error)
        super().handle_error(request, client_address)


class FaultServer:
    """A local HTTP server whose routes misbehave on demand; see the module docstring."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._routes: dict[str, Handler] = {}
        self._log_entries: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[Any] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.errors: list[BaseException] = []  # unexpected exceptions in handlers
        self.accepted = 0  # TCP connections accepted: keep-alive reuse shows here

    # lifecycle
    def start(self) -> FaultServer:
        self._server = _Server(self, self._host)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._stopping.set()
        self._server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # addresses
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FaultServer is not started")
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://{self._host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.origin + (path if path.startswith("/") else "/" + path)

    # routes
    def route(self, path: str, handler: Handler | bytes | str) -> str:
        """Serve ``path`` with ``handler`` (bytes or str: a 200 with that body); returns
        the path's URL."""
        if isinstance(handler, bytes | str):
            handler = Reply(handler)
        with self._lock:
            self._routes[path] = handler
        return self.url(path)

    def chain(self, prefix: str, hops: int, final: Handler | None = None) -> str:
        """``hops`` redirects ``prefix/0 -> prefix/1 -> ...`` ending at ``prefix/<hops>``
        served by ``final``; without ``final`` the last hop leads back to the first (a
        loop). Returns the first URL."""
        for hop in range(hops):
            self.route(f"{prefix}/{hop}", Redirect(f"{prefix}/{hop + 1}"))
        self.route(f"{prefix}/{hops}", final or Redirect(f"{prefix}/0"))
        return self.url(f"{prefix}/0")

    def _handler(self, path: str) -> Handler:
        with self._lock:
            return self._routes.get(path, _not_found)

    # the request log
    def _log(self, request: LoggedRequest) -> None:
        with self._lock:
            self._log_entries.append(request)

    def _track(self, connection: Any, open_: bool) -> None:
        with self._lock:
            if open_:
                self.accepted += 1
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request so far, in arrival order."""
        with self._lock:
            return list(self._log_entries)

    def hits(self, path: str | None = None) -> int:
        """How many requests reached ``path`` (query string ignored), or any path."""
        return sum(1 for r in self.requests if path is None or r.route == path)

    def requests_to(self, path: str) -> list[LoggedRequest]:
        return [r for r in self.requests if r.route == path]

    def max_concurrency(self, path: str | None = None) -> int:
        """The most requests (to ``path``, or any) that were in progress at once."""
        events: list[tuple[float, int]] = []
        for r in self.requests:
            if path is None or r.route == path:
                events.append((r.started, 1))
                events.append((r.finished if r.finished is not None else float("inf"), -1))
        current = best = 0
        for _, step in sorted(events):
            current += step
            best = max(best, current)
        return best

    def wait_for(self, path: str, count: int = 1, timeout: float = 5.0) -> bool:
        """Block until ``path`` has had ``count`` requests (threaded tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.hits(path) >= count:
                return True
            time.sleep(0.01)
        return self.hits(path) >= count


__all__ = [
    "Bomb",
    "Compressed",
    "Conditional",
    "Delay",
    "Drip",
    "Endless",
    "Exchange",
    "FaultServer",
    "Hang",
    "HugeLength",
    "LoggedRequest",
    "Redirect",
    "Reply",
    "Sequence",
    "Throttle",
    "bomb",
    "compress",
]
