"""The SSRF guard: which URLs and addresses a request may reach.

A URL's host is only a name; what matters is the address the socket connects to. So
the check lives in the network backend under httpx: it resolves the host, refuses
non-public addresses, then connects to the very address it checked (Host header and
TLS SNI still carry the name). A DNS answer that changes between check and connect
(rebinding) therefore cannot slip through, and every redirect hop opens its
connection through the same backend. Requests that may reach private networks go
through a separate connection pool, so a connection opened for them is never reused
by a request that may not.

httpx's own transport builds its pool with the default backend and has no parameter
for another, so GuardedTransport implements httpx's public transport interface
itself over httpcore pools it builds with this backend (httpcore's public seam).
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

import httpcore
import httpx

from monitor.errors import BlockedAddress
from monitor.fetch._pool import CachedSocketBackend, OriginPools
from monitor.fetch._types import Resolver

IPAddress = IPv4Address | IPv6Address

ALLOW_PRIVATE = "monitor.allow_private"  # request extension read by GuardedTransport

# Listed by hand on top of the ipaddress flags, which changed across Python releases.
_BLOCKED_V4 = tuple(
    IPv4Network(net)
    for net in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata (169.254.169.254)
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
    )
)
_BLOCKED_V6 = tuple(
    IPv6Network(net)
    for net in (
        "::/8",  # unspecified, loopback, IPv4-compatible and -mapped
        "100::/64",
        "2001::/23",  # IETF protocol assignments, Teredo among them
        "2001:db8::/32",
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local
        "ff00::/8",  # multicast
    )
)
_NAT64 = IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = IPv6Network("64:ff9b:1::/48")
_INET_ATON_FORM = re.compile(r"(?:0x[0-9a-f]+|[0-9]+)(?:\.(?:0x[0-9a-f]+|[0-9]+)){0,3}")


def _public_v4(ip: IPv4Address) -> bool:
    return ip.is_global and not ip.is_multicast and not any(ip in net for net in _BLOCKED_V4)


def address_allowed(ip: IPAddress) -> bool:
    """True for a globally routable unicast address, IPv4 hidden in IPv6 included."""
    if isinstance(ip, IPv4Address):
        return _public_v4(ip)
    if ip.ipv4_mapped is not None:
        return _public_v4(ip.ipv4_mapped)
    if ip in _NAT64:
        # An IPv6-only host behind DNS64 reaches every IPv4 site this way, so the
        # embedded address decides.
        return _public_v4(IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        return _public_v4(ip.sixtofour)
    if ip in _NAT64_LOCAL or ip.teredo is not None:
        return False
    return (
        ip.is_global
        and not ip.is_multicast
        and not ip.is_site_local
        and not any(ip in net for net in _BLOCKED_V6)
    )


def literal_address(host: str) -> IPAddress | None:
    """The address a host that is an IP literal denotes, in any form a resolver accepts.

    Besides dotted quads this reads what inet_aton does (``2130706433``, ``0x7f.1``,
    ``127.1``), since getaddrinfo would connect to those too.
    """
    text = host.strip("[]").lower()
    try:
        return ip_address(text)
    except ValueError:
        pass
    if _INET_ATON_FORM.fullmatch(text):
        try:
            return IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def check_url(url: httpx.URL, allow_private: bool) -> None:
    """Refuse a URL before any request: a scheme other than http(s), no host, or a
    literal address that is not public (unless allowed)."""
    if url.scheme not in ("http", "https"):
        raise BlockedAddress(f"scheme {url.scheme or '(none)'!r} is not allowed", str(url))
    if not url.host:
        raise BlockedAddress("URL has no host", str(url))
    if allow_private:
        return
    literal = literal_address(url.host)
    if literal is not None and not address_allowed(literal):
        raise BlockedAddress(f"{literal} is not a public address", str(url))


class SystemResolver:
    """The event loop's getaddrinfo, so lookups never block the loop."""

    async def resolve(self, host: str, port: int) -> list[str]:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolve, check, then connect to the checked address itself."""

    def __init__(
        self, resolver: Resolver, inner: httpcore.AsyncNetworkBackend, *, check: bool
    ) -> None:
        self._resolver = resolver
        self._inner = inner
        self._check = check

    async def _addresses(self, host: str, port: int) -> list[IPAddress]:
        literal = literal_address(host)
        if literal is not None:
            return [literal]
        try:
            answers = await self._resolver.resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = []
        for answer in answers:
            try:
                addresses.append(ip_address(answer.split("%")[0]))
            except ValueError:
                continue
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        try:
            async with asyncio.timeout_at(deadline):
                addresses = await self._addresses(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        allowed = [ip for ip in addresses if not self._check or address_allowed(ip)]
        if not allowed:
            listed = ", ".join(str(ip) for ip in addresses)
            raise BlockedAddress(f"{host} resolves to {listed}: not a public address")
        failure: Exception = httpcore.ConnectError(f"cannot connect to {host}")
        for ip in allowed:
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, remaining, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# Pool sizes for each origin's pool (see _pool): politeness lets polls hold two or so
# connections to one origin; a webhook channel sends up to its `concurrency` (at most
# 256) at once, and keeping 32 alive spares a busy channel a new connection per send.
# Idle connections expire after httpx's default keep-alive of 5 s.
_LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=32)
_MAX_ORIGINS = 128  # origins kept alive per pool kind before idle ones are closed

# The most specific httpx error for each httpcore one, as httpx's own transport maps
# them, so _client's translation sees the same exception kinds. Anything not listed
# (BlockedAddress, raised by the backend, above all) passes through unchanged.
_HTTPX_ERRORS: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.ProxyError: httpx.ProxyError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.ProtocolError: httpx.ProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
}


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        # Walking the class's MRO finds the nearest mapped ancestor, so a ReadTimeout
        # becomes httpx.ReadTimeout rather than the TimeoutException it also is.
        for cls in type(exc).__mro__:
            mapped = _HTTPX_ERRORS.get(cls)
            if mapped is not None:
                raise mapped(str(exc)) from exc
        raise


class _ResponseBody(httpx.AsyncByteStream):
    """httpcore's body stream, with errors while reading it raised as httpx's."""

    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        # Closing hands the connection back to the pool (or drops it); like httpx's
        # transport, a failure here is not translated.
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()


@cache
def _tls_context(http2: bool) -> ssl.SSLContext:
    # Loading the system CA store costs ~30 ms of CPU, and every run_once builds a new
    # Fetcher: one context per process instead. Keyed by http2 because httpcore sets the
    # context's ALPN protocols from its own http2 flag at each connection: a context
    # shared only by pools with the same flag always gets the same protocols.
    return httpx.create_ssl_context(trust_env=False)


def _pool(backend: GuardedBackend, context: ssl.SSLContext, http2: bool) -> OriginPools:
    def one_origin() -> httpcore.AsyncConnectionPool:
        return httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=_LIMITS.max_connections,
            max_keepalive_connections=_LIMITS.max_keepalive_connections,
            keepalive_expiry=_LIMITS.keepalive_expiry,
            network_backend=backend,
            http2=http2,
        )

    return OriginPools(one_origin, _MAX_ORIGINS)


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over two httpcore pools of its own: the checking one, and
    the open one for requests carrying the ``ALLOW_PRIVATE`` extension."""

    def __init__(
        self,
        resolver: Resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
        *,
        http2: bool = False,
    ) -> None:
        backend = CachedSocketBackend(inner or httpcore.AnyIOBackend())
        context = _tls_context(http2)
        self._checked = _pool(GuardedBackend(resolver, backend, check=True), context, http2)
        self._open = _pool(GuardedBackend(resolver, backend, check=False), context, http2)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = self._open if request.extensions.get(ALLOW_PRIVATE) else self._checked
        if not isinstance(request.stream, httpx.AsyncByteStream):
            raise TypeError("GuardedTransport sends only requests of an AsyncClient")
        url = request.url
        core_request = httpcore.Request(
            method=request.method,
            # The raw forms: already IDNA- and percent-encoded by httpx, so the bytes
            # on the wire are the ones httpx's own transport would send.
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            # Carries httpx's per-request timeouts to httpcore.
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            core_response = await pool.handle_async_request(core_request)
        stream = core_response.stream
        if not isinstance(stream, AsyncIterable):
            raise TypeError("httpcore's async pool returned a synchronous body")
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_ResponseBody(stream),
            extensions=core_response.extensions,
        )

    async def aclose(self) -> None:
        try:
            await self._checked.aclose()
        finally:
            await self._open.aclose()
