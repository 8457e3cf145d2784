"""The SSRF guard: refused schemes and addresses, on the first hop and on every
redirect, checked on the address actually connected to.

Every test server listens on 127.0.0.1, which the guard refuses. To show a refusal
*after* an allowed first hop, a test resolver sends ``news.test`` to a public address
(93.184.216.34) and the test's TCP connector carries that one address, and no other,
to the local server. Everything else (127.0.0.1 literals, other names) reaches the
real network stack, so a guard that let them through would show up in the server's
log.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterable, Iterator
from ipaddress import ip_address

import httpcore
import pytest

from monitor.errors import BlockedAddress
from monitor.fetch import Fetcher, FetchSettings
from monitor.fetch._guard import address_allowed, literal_address
from tests.faultserver import FaultServer, Redirect, Reply

PUBLIC = "93.184.216.34"


class StaticResolver:
    """Names to addresses from a table; each call may answer differently."""

    def __init__(self, table: dict[str, list[list[str]]]) -> None:
        self.table = table
        self.calls: dict[str, int] = {}

    async def resolve(self, host: str, port: int) -> list[str]:
        answers = self.table.get(host)
        if answers is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        count = self.calls.get(host, 0)
        self.calls[host] = count + 1
        return answers[min(count, len(answers) - 1)]


class PublicToLocal(httpcore.AsyncNetworkBackend):
    """The real TCP connector, except that PUBLIC is carried to 127.0.0.1."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.connected: list[str] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append(host)
        target = "127.0.0.1" if host == PUBLIC else host
        return await self.inner.connect_tcp(target, port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AssertionError("not used")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


@pytest.fixture
def fault() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
def resolver() -> StaticResolver:
    return StaticResolver(
        {
            "news.test": [[PUBLIC]],
            "intranet.test": [["127.0.0.1"]],
            "mixed.test": [["10.0.0.7", "127.0.0.1"]],
            "dual.test": [["127.0.0.1", PUBLIC]],
            "rebind.test": [[PUBLIC], ["127.0.0.1"]],
        }
    )


@pytest.fixture
def backend() -> PublicToLocal:
    return PublicToLocal()


@pytest.fixture
async def fetcher(resolver: StaticResolver, backend: PublicToLocal) -> AsyncIterator[Fetcher]:
    settings = FetchSettings(min_delay=0.0, connect_timeout=2.0)
    async with Fetcher(settings, resolver=resolver, network_backend=backend) as client:
        yield client


async def test_public_host_reaches_the_server(fault: FaultServer, fetcher: Fetcher) -> None:
    fault.route("/feed", Reply(b"<rss/>"))
    result = await fetcher.get(f"http://news.test:{fault.port}/feed")
    assert result.content == b"<rss/>"
    assert fault.requests[0].headers["host"] == f"news.test:{fault.port}"


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]:{port}/secret",
        "http://2130706433:{port}/secret",
        "http://0x7f.1:{port}/secret",
        "http://017700000001:{port}/secret",
        "http://[::1]:{port}/secret",
        "http://[64:ff9b::7f00:1]:{port}/secret",
        "http://[2002:7f00:1::]:{port}/secret",
        "http://0.0.0.0:{port}/secret",
        "http://10.1.2.3/secret",
        "http://intranet.test:{port}/secret",
        "file:///etc/passwd",
        "gopher://127.0.0.1:{port}/secret",
    ],
)
async def test_redirect_to_a_private_target_is_refused(
    fault: FaultServer, fetcher: Fetcher, target: str
) -> None:
    location = target.format(port=fault.port)
    fault.route("/start", Redirect(location))
    fault.route("/secret", Reply(b"internal data"))
    with pytest.raises(BlockedAddress) as caught:
        await fetcher.get(f"http://news.test:{fault.port}/start")
    assert caught.value.kind == "blocked_address"
    assert fault.hits("/start") == 1
    assert fault.hits("/secret") == 0


@pytest.mark.parametrize(
    "target", ["http://127.0.0.1:{port}/secret", "http://intranet.test:{port}/secret"]
)
async def test_allow_private_follows_the_same_redirect(
    fault: FaultServer, fetcher: Fetcher, target: str
) -> None:
    # The control for the test above: the refused hop would really have been served.
    fault.route("/start", Redirect(target.format(port=fault.port)))
    fault.route("/secret", Reply(b"internal data"))
    result = await fetcher.get(f"http://news.test:{fault.port}/start", allow_private=True)
    assert result.content == b"internal data"
    assert fault.hits("/secret") == 1


@pytest.mark.parametrize("host", ["intranet.test", "mixed.test", "127.0.0.1", "[::ffff:7f00:1]"])
async def test_host_resolving_to_a_private_address_is_refused(
    fault: FaultServer, fetcher: Fetcher, host: str
) -> None:
    fault.route("/", Reply(b"internal"))
    with pytest.raises(BlockedAddress):
        await fetcher.get(f"http://{host}:{fault.port}/")
    assert fault.hits() == 0


async def test_only_the_public_answer_is_connected_to(
    fault: FaultServer, fetcher: Fetcher, backend: PublicToLocal
) -> None:
    fault.route("/", Reply(b"ok"))
    assert (await fetcher.get(f"http://dual.test:{fault.port}/")).content == b"ok"
    assert backend.connected == [PUBLIC]


async def test_every_new_connection_is_checked_again(
    fault: FaultServer, fetcher: Fetcher, backend: PublicToLocal
) -> None:
    # DNS rebinding: the name is public for the first connection, private after.
    fault.route("/", Reply(b"ok", headers={"Connection": "close"}))
    url = f"http://rebind.test:{fault.port}/"
    assert (await fetcher.get(url)).content == b"ok"
    with pytest.raises(BlockedAddress):
        await fetcher.get(url)
    assert fault.hits() == 1
    assert backend.connected == [PUBLIC]


async def test_private_pool_connections_are_not_reused_by_guarded_requests(
    fault: FaultServer, fetcher: Fetcher
) -> None:
    fault.route("/", Reply(b"ok"))  # keep-alive: the connection stays pooled
    url = f"http://intranet.test:{fault.port}/"
    assert (await fetcher.get(url, allow_private=True)).content == b"ok"
    with pytest.raises(BlockedAddress):
        await fetcher.get(url)
    assert fault.hits() == 1


async def test_robots_redirect_into_the_private_network_is_not_followed(
    fault: FaultServer, fetcher: Fetcher
) -> None:
    fault.route("/robots.txt", Redirect(f"http://127.0.0.1:{fault.port}/internal-robots"))
    fault.route("/internal-robots", Reply(b"User-agent: *\nDisallow: /\n"))
    fault.route("/page", Reply(b"page"))
    result = await fetcher.get(f"http://news.test:{fault.port}/page", obey_robots=True)
    assert result.content == b"page"  # an unavailable robots.txt means no rules
    assert fault.hits("/internal-robots") == 0


async def test_robots_on_a_refused_host_reports_the_refusal(
    fault: FaultServer, fetcher: Fetcher
) -> None:
    with pytest.raises(BlockedAddress):
        await fetcher.get(f"http://intranet.test:{fault.port}/page", obey_robots=True)
    assert fault.hits() == 0


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.216.34", True),
        ("1.1.1.1", True),
        ("2606:4700:4700::1111", True),
        ("64:ff9b::5db8:d822", True),  # NAT64 of a public address
        ("2002:5db8:d822::1", True),  # 6to4 of a public address
        ("127.0.0.1", False),
        ("127.255.0.9", False),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("192.0.2.1", False),
        ("198.18.0.1", False),
        ("224.0.0.251", False),
        ("239.255.255.250", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("::127.0.0.1", False),  # IPv4-compatible
        ("64:ff9b::7f00:1", False),  # NAT64 of loopback
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b:1::a00:1", False),  # local-use NAT64
        ("2002:7f00:1::1", False),  # 6to4 of loopback
        ("2002:c0a8:101::1", False),  # 6to4 of 192.168.1.1
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("fc00::1", False),
        ("fd12:3456::1", False),
        ("fe80::1", False),
        ("fec0::1", False),
        ("ff02::1", False),
        ("2001:db8::1", False),
    ],
)
def test_address_allowed(address: str, allowed: bool) -> None:
    assert address_allowed(ip_address(address)) is allowed


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("::1", "::1"),
        ("example.com", None),
        ("cafe.de", None),
        ("1.example", None),
        ("999.1.1.1", None),
    ],
)
def test_literal_address_reads_every_form_a_resolver_accepts(
    host: str, address: str | None
) -> None:
    parsed = literal_address(host)
    assert (str(parsed) if parsed is not None else None) == address
