"""Connections kept alive per origin, counted where they are accepted, and still guarded.

A 304, a redirect or a 404 has a body nobody reads; reading its few bytes lets the
connection go back to the pool. The guard checks a connection's address when it is
opened, so a kept-alive connection is reused only for the origin, and the pool
(checked or open), that opened it: another name on the same server, or the same name
once its address changed, gets a connection of its own, checked again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from monitor.errors import BlockedAddress, HTTPStatusError
from monitor.fetch import Fetcher, FetchSettings
from tests.faultserver import Conditional, FaultServer, Redirect, Reply
from tests.test_fetch_guard import PUBLIC, PublicToLocal, StaticResolver

FAST = FetchSettings(min_delay=0.0, per_origin_concurrency=2, total_timeout=10)


@pytest.fixture
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


async def test_polls_of_one_origin_reuse_two_connections_at_most(site: FaultServer) -> None:
    site.route("/feed.xml", Conditional(b"<rss/>", etag='"v1"'))
    site.route("/moved", Redirect("/feed.xml"))
    site.route("/missing", Reply(b"gone\n", status=404))
    async with Fetcher(FAST) as fetcher:
        first = await fetcher.get(site.url("/feed.xml"), allow_private=True)
        assert first.etag == '"v1"'

        async def poll(n: int) -> bool:
            result = await fetcher.get(
                site.url("/feed.xml" if n % 5 else "/moved"), etag='"v1"', allow_private=True
            )
            return result.not_modified

        # Sixty conditional polls, two at a time as politeness allows, some through a
        # redirect, and 404s in between: every answer's body is read or empty.
        answers = await asyncio.gather(*(poll(n) for n in range(60)))
        for _ in range(3):
            with pytest.raises(HTTPStatusError):
                await fetcher.get(site.url("/missing"), allow_private=True)
    assert all(answers)
    assert site.hits() == 1 + 60 + 12 + 3  # the redirects are requests of their own
    assert site.accepted <= 2


async def test_a_body_too_large_to_drain_closes_its_connection(site: FaultServer) -> None:
    site.route("/error", Reply(b"x" * (200 * 1024), status=500))
    async with Fetcher(FAST) as fetcher:
        for _ in range(3):
            with pytest.raises(HTTPStatusError):
                await fetcher.get(site.url("/error"), allow_private=True)
    assert site.accepted == 3  # not read: never reused, as before


async def test_a_kept_alive_connection_serves_only_the_name_that_was_checked(
    site: FaultServer,
) -> None:
    # news.test is public; intranet.test, on the very same server, is private.
    resolver = StaticResolver({"news.test": [[PUBLIC]], "intranet.test": [["127.0.0.1"]]})
    backend = PublicToLocal()
    site.route("/feed.xml", Conditional(b"<rss/>"))
    async with Fetcher(FAST, resolver=resolver, network_backend=backend) as fetcher:
        for _ in range(5):
            await fetcher.get(f"http://news.test:{site.port}/feed.xml", etag='"v1"')
        with pytest.raises(BlockedAddress):
            await fetcher.get(f"http://intranet.test:{site.port}/feed.xml")
    assert backend.connected == [PUBLIC]  # one connection, checked once, reused
    assert site.accepted == 1
    assert site.hits() == 5


async def test_a_name_that_moves_to_a_private_address_is_refused_on_its_next_connection(
    site: FaultServer,
) -> None:
    # DNS rebinding against a kept-alive client: the connection already open goes on
    # to the address that was checked; the next one the pool opens is checked again.
    resolver = StaticResolver({"rebind.test": [[PUBLIC], ["127.0.0.1"]]})
    backend = PublicToLocal()
    site.route("/feed.xml", Conditional(b"<rss/>"))
    site.route("/last", Reply(b"bye", headers={"Connection": "close"}))
    url = f"http://rebind.test:{site.port}"
    async with Fetcher(FAST, resolver=resolver, network_backend=backend) as fetcher:
        for _ in range(4):
            assert (await fetcher.get(url + "/feed.xml", etag='"v1"')).not_modified
        await fetcher.get(url + "/last")  # the server closes the connection
        with pytest.raises(BlockedAddress):
            await fetcher.get(url + "/feed.xml", etag='"v1"')
    assert backend.connected == [PUBLIC]
    assert site.hits() == 5
    assert resolver.calls["rebind.test"] == 2  # resolved once per connection, not per request


async def test_http2_offered_still_speaks_http11_to_a_plain_http_server(site: FaultServer) -> None:
    # HTTP/2 is offered in the TLS handshake only; a plain-http origin stays on HTTP/1.1,
    # kept alive the same way.
    site.route("/feed.xml", Conditional(b"<rss/>"))
    settings = FetchSettings(min_delay=0.0, total_timeout=10, http2=True)
    async with Fetcher(settings) as fetcher:
        for _ in range(5):
            assert (
                await fetcher.get(site.url("/feed.xml"), etag='"v1"', allow_private=True)
            ).status == 304
    assert site.accepted == 1
