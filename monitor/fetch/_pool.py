"""Keep-alive connections, one small httpcore pool per origin.

httpcore's ``AsyncConnectionPool`` looks through every connection it holds, and every
request queued on it, each time a request starts or ends. One pool for all origins
therefore costs more CPU per request the more origins are kept alive (with 100 origins
it cost more than opening a new connection each time). Here each origin (scheme, host,
port) gets a pool of its own, so that scan covers the two or so connections the
politeness rules let one origin have; the pools themselves are kept in least recently
used order and the idle ones are closed past ``max_origins``.

Every pool is built by the caller's factory over the same network backend, so every
connection any of them opens went through the SSRF guard when it was opened, and a
kept-alive connection is only ever reused for its own origin, inside the pool (checked
or open) that opened it.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import httpcore
from httpcore._utils import is_socket_readable  # httpcore's own test, kept identical

try:  # anyio's internals: an anyio that moved them only loses the direct path
    from anyio._backends import _asyncio as _anyio_asyncio
except ImportError:  # pragma: no cover - not with the anyio this project locks
    _anyio_asyncio = None  # type: ignore[assignment]
_ANYIO_SOCKET_STREAM: type | None = getattr(_anyio_asyncio, "SocketStream", None)

OriginKey = tuple[bytes, bytes, int | None]

# One read in this many takes anyio's path (which yields to the event loop).
_YIELD_EVERY = 16
# The fields of anyio's stream protocol that _Stream reads directly (see _direct).
_PROTOCOL_FIELDS = ("read_queue", "read_event", "write_event", "exception", "is_at_eof")


class OriginPools:
    """httpcore's request interface over one ``AsyncConnectionPool`` per origin."""

    def __init__(
        self, factory: Callable[[], httpcore.AsyncConnectionPool], max_origins: int = 128
    ) -> None:
        self._factory = factory
        self._max_origins = max(1, max_origins)
        self._pools: OrderedDict[OriginKey, httpcore.AsyncConnectionPool] = OrderedDict()

    @property
    def origins(self) -> int:
        """Origins with a pool now (open connections or not)."""
        return len(self._pools)

    @property
    def connections(self) -> int:
        """Connections held now, over every origin: idle, in use or connecting."""
        return sum(len(pool.connections) for pool in self._pools.values())

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        url = request.url
        key = (url.scheme, url.host.lower(), url.port)
        pool = self._pools.get(key)
        if pool is None:
            if len(self._pools) >= self._max_origins:
                await self._close_idle()
            pool = self._pools[key] = self._factory()
        else:
            self._pools.move_to_end(key)
        return await pool.handle_async_request(request)

    async def _close_idle(self) -> None:
        """Close the least recently used pools that nothing is using, down to 3/4 of
        the cap, so a crawl over many origins does not keep a socket open for each."""
        keep = self._max_origins * 3 // 4
        for key, pool in list(self._pools.items()):
            if len(self._pools) <= keep:
                return
            # A connection still connecting, or serving a request, is not idle.
            if all(conn.is_idle() or conn.is_closed() for conn in pool.connections):
                del self._pools[key]
                await pool.aclose()

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.aclose()


class _Stream(httpcore.AsyncNetworkStream):
    """A network stream whose socket is looked up once, and whose reads and writes
    that cannot wait skip the timeout.

    httpcore asks an idle connection whether its socket is readable (the server hung
    up) each time the pool looks at it; anyio answers ``get_extra_info("socket")`` by
    building every socket attribute, a ``getpeername`` system call among them. The
    socket does not change while the stream lives, so it is kept.

    httpcore's anyio stream puts every read and write under ``anyio.fail_after``: a
    cancel scope, a timer handle and two task lookups, then a shielded checkpoint
    (skipping them took a keep-alive request from 2,478 Python calls to 2,260). A
    write the socket takes at once and a read whose data has arrived cannot wait, so a
    timeout cannot fire: those go straight to the transport (see ``_direct``). Any
    other read or write, and every stream this does not recognise (TLS, other
    backends), takes httpcore's path.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: object = None
        self._direct = _direct(inner)
        self._streak = 0  # reads in a row that did not yield to the event loop

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        direct = self._direct
        if direct is not None:
            self._streak += 1
            # Every so often a read takes anyio's path, which yields to the loop:
            # a fast server's long body must not keep every other task waiting.
            if self._streak % _YIELD_EVERY:
                data = self._arrived(*direct, max_bytes)
                if data:
                    return data
        return await self._inner.read(max_bytes, timeout)

    def _arrived(self, stream: Any, protocol: Any, max_bytes: int) -> bytes | None:
        """Up to ``max_bytes`` that are already here, queued or in the kernel; None
        when reading them would mean waiting (or the stream ended: anyio says so)."""
        if stream._closed or protocol.exception is not None:
            return None
        if protocol.read_queue:
            return _popped(protocol, max_bytes)
        if protocol.is_at_eof or stream._transport.is_closing():
            return None
        # Nothing queued: what the kernel holds comes next, in order. anyio pauses
        # the transport's reading between receives, so asking it costs a resume, a
        # turn of the loop and a pause.
        try:
            return os.read(self._fileno(), max_bytes) or None
        except BlockingIOError:
            return None  # nothing has arrived: wait for it, timed
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    def _fileno(self) -> int:
        sock: Any = self.get_extra_info("socket")
        return int(sock.fileno())

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        direct = self._direct
        if direct is not None and buffer:
            stream, protocol = direct
            transport = stream._transport
            if (
                protocol.write_event.is_set()
                and not stream._closed
                and protocol.exception is None
                and not transport.is_closing()
            ):
                transport.write(buffer)
                if not protocol.write_event.is_set():
                    # The rest sits in the transport's buffer: wait for it, timed.
                    await self._drained(stream, protocol, timeout)
                return
        await self._inner.write(buffer, timeout)

    @staticmethod
    async def _drained(stream: Any, protocol: Any, timeout: float | None) -> None:  # noqa: ASYNC109
        try:
            await asyncio.wait_for(protocol.write_event.wait(), timeout)
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(f"write timed out after {timeout}s") from exc
        if stream._closed or protocol.exception is not None:
            raise httpcore.WriteError("the connection closed during a write")

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            sock = self.get_extra_info("socket")
            return sock is None or is_socket_readable(sock)
        if info == "socket":
            if self._socket is None:
                self._socket = self._inner.get_extra_info("socket")
            return self._socket
        return self._inner.get_extra_info(info)


def _popped(protocol: Any, max_bytes: int) -> bytes:
    """The next queued chunk, at most ``max_bytes`` of it, as anyio's receive gives it."""
    queue = protocol.read_queue
    chunk: bytes = queue.popleft()
    if len(chunk) > max_bytes:
        chunk, leftover = chunk[:max_bytes], chunk[max_bytes:]
        queue.appendleft(leftover)
    if not queue:
        protocol.read_event.clear()
    return chunk


def _direct(inner: httpcore.AsyncNetworkStream) -> tuple[Any, Any] | None:
    """anyio's plain socket stream and its protocol inside httpcore's ``inner``; None
    for any other stream, or an anyio whose internals are not the ones this reads."""
    stream = getattr(inner, "_stream", None)
    if type(stream) is not _ANYIO_SOCKET_STREAM:
        return None
    protocol = getattr(stream, "_protocol", None)
    if not all(hasattr(protocol, name) for name in _PROTOCOL_FIELDS):
        return None
    if not hasattr(stream, "_transport") or not hasattr(stream, "_closed"):
        return None
    return stream, protocol


class CachedSocketBackend(httpcore.AsyncNetworkBackend):
    """``inner``'s connections, as streams that look their socket up once."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _Stream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
