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

import ssl
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import httpcore
from httpcore._utils import is_socket_readable  # httpcore's own test, kept identical

OriginKey = tuple[bytes, bytes, int | None]


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
    """A network stream whose socket is looked up once.

    httpcore asks an idle connection whether its socket is readable (the server hung
    up) each time the pool looks at it; anyio answers ``get_extra_info("socket")`` by
    building every socket attribute, a ``getpeername`` system call among them. The
    socket does not change while the stream lives, so it is kept.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: object = None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._inner.write(buffer, timeout)

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
