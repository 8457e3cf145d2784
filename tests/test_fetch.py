"""monitor.fetch against a real local fault server: bodies and encodings, the hazards
(each bounded in time and memory), redirects, conditional GET, status errors, POST."""

from __future__ import annotations

import asyncio
import socket
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest

from monitor.errors import (
    BadEncoding,
    BlockedAddress,
    BodyTooLarge,
    ConnectFailed,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    TooManyRedirects,
)
from monitor.fetch import Fetcher, FetchSettings
from monitor.fetch._limits import read_capped
from tests.faultserver import (
    Bomb,
    Compressed,
    Conditional,
    Drip,
    Endless,
    FaultServer,
    Handler,
    Hang,
    HugeLength,
    MiB,
    Redirect,
    Reply,
    bomb,
    compress,
)

FAST = FetchSettings(min_delay=0.0)
ARTICLE = (
    "<html><head><title>Amazon : des salariés dénoncent les licenciements liés à l'IA</title>"
    "</head><body>" + "<p>Des milliers d'employés signent une lettre ouverte.</p>" * 800
).encode()


@pytest.fixture
def fault() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(FAST) as client:
        yield client


@contextmanager
def bounded(seconds: float, megabytes: float = 50) -> Iterator[None]:
    """Fail unless the block finishes within ``seconds`` and its allocations (all
    threads, the server's included) peak below ``megabytes``."""
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    started = time.monotonic()
    try:
        yield
    finally:
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1] - baseline
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.2f}s"
    assert peak < megabytes * MiB, f"memory grew by {peak / MiB:.1f} MB"


async def test_get_returns_body_validators_and_content_type(
    fault: FaultServer, fetcher: Fetcher
) -> None:
    url = fault.route(
        "/article",
        Reply(
            ARTICLE,
            headers={
                "Content-Type": 'text/html; charset="ISO-8859-1"',
                "ETag": '"a1"',
                "Last-Modified": "Tue, 03 Mar 2026 08:00:00 GMT",
                "X-Custom": "yes",
            },
        ),
    )
    result = await fetcher.get(url + "?utm=1", allow_private=True, accept="text/html")
    assert result.content == ARTICLE
    assert (result.status, result.not_modified) == (200, False)
    assert (result.content_type, result.charset) == ("text/html", "iso-8859-1")
    assert (result.etag, result.last_modified) == ('"a1"', "Tue, 03 Mar 2026 08:00:00 GMT")
    assert result.headers["x-custom"] == "yes"
    assert result.url == result.final_url == url + "?utm=1"
    assert 0 < result.elapsed < 5
    seen = fault.requests_to("/article")[0]
    assert seen.headers["user-agent"] == FAST.user_agent
    assert seen.headers["accept"] == "text/html"
    assert "if-none-match" not in seen.headers


@pytest.mark.parametrize("encodings", [(), ("gzip",), ("deflate",), ("deflate-raw",), ("br",)])
async def test_content_encodings_are_decoded(
    fault: FaultServer, fetcher: Fetcher, encodings: tuple[str, ...]
) -> None:
    url = fault.route("/enc", Compressed(ARTICLE, encodings))
    result = await fetcher.get(url, allow_private=True)
    assert result.content == ARTICLE
    assert fault.requests[0].headers["accept-encoding"] == "gzip, deflate, br"


async def _pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


@pytest.mark.parametrize("encoding", ["identity", "gzip", "deflate", "deflate-raw", "br"])
@pytest.mark.parametrize("piece", [1, 7, 65_536])
async def test_decoding_does_not_depend_on_how_the_network_cuts_the_body(
    encoding: str, piece: int
) -> None:
    raw = compress(ARTICLE, encoding)
    name = "deflate" if encoding == "deflate-raw" else encoding
    assert await read_capped(_pieces(raw, piece), name, len(ARTICLE)) == ARTICLE
    with pytest.raises(BodyTooLarge):
        await read_capped(_pieces(raw, piece), name, len(ARTICLE) - 1)


async def test_gzip_members_one_after_another_are_all_read() -> None:
    raw = compress(b"first member, ", "gzip") + compress(b"second member", "gzip")
    assert await read_capped(_pieces(raw, 5), "gzip", 1000) == b"first member, second member"


@pytest.mark.parametrize(
    "handler",
    [
        Compressed(ARTICLE, ("gzip", "gzip")),
        Compressed(ARTICLE, ("deflate", "gzip")),
        Compressed(ARTICLE, ("compress",)),
        Reply(b"this is not gzip at all", headers={"Content-Encoding": "gzip"}),
        Reply(b"nor brotli", headers={"Content-Encoding": "br"}),
    ],
    ids=["gzip-gzip", "deflate-gzip", "unknown", "corrupt-gzip", "corrupt-br"],
)
async def test_stacked_unknown_or_corrupt_encodings_are_refused(
    fault: FaultServer, fetcher: Fetcher, handler: Handler
) -> None:
    url = fault.route("/enc", handler)
    with pytest.raises(BadEncoding) as caught:
        await fetcher.get(url, allow_private=True)
    assert caught.value.url == url
    assert caught.value.kind == "encoding"


@pytest.mark.parametrize("encodings", [(), ("gzip",), ("br",)])
@pytest.mark.parametrize("extra", [0, 1])
async def test_size_cap_is_on_decoded_bytes_and_exact(
    fault: FaultServer, encodings: tuple[str, ...], extra: int
) -> None:
    cap = 200_000
    body = bytes(range(256)) * (cap // 256) + b"z" * (cap % 256 + extra)
    url = fault.route("/sized", Compressed(body, encodings))
    async with Fetcher(FetchSettings(min_delay=0, max_bytes=cap)) as fetcher:
        if extra:
            with pytest.raises(BodyTooLarge):
                await fetcher.get(url, allow_private=True)
        else:
            assert (await fetcher.get(url, allow_private=True)).content == body


HAZARDS = {
    # name: (handler, settings, error, seconds)
    "slow-drip": (Drip(b"x" * 100_000, 0.02), FetchSettings(min_delay=0, total_timeout=1.0),
                  FetchTimeout, 2.5),
    "hang": (Hang(), FetchSettings(min_delay=0, read_timeout=0.5), FetchTimeout, 2.0),
    "endless-body": (Endless(), FAST, BodyTooLarge, 10.0),
    "huge-content-length": (HugeLength(), FAST, BodyTooLarge, 2.0),
    "gzip-bomb": (Bomb("gzip"), FAST, BodyTooLarge, 10.0),
    "deflate-bomb": (Bomb("deflate"), FAST, BodyTooLarge, 10.0),
    "brotli-bomb": (Bomb("br"), FAST, BodyTooLarge, 10.0),
    "stacked-gzip": (Compressed(ARTICLE, ("gzip", "gzip")), FAST, BadEncoding, 2.0),
}  # fmt: skip


@pytest.mark.parametrize("name", list(HAZARDS))
async def test_hazard_is_stopped_with_its_error_in_bounded_time_and_memory(
    fault: FaultServer, name: str
) -> None:
    handler, settings, error, seconds = HAZARDS[name]
    if isinstance(handler, Bomb):
        bomb(handler.encoding, handler.size)  # built before measuring
    url = fault.route("/hazard", handler)
    async with Fetcher(settings) as fetcher:
        with bounded(seconds), pytest.raises(error) as caught:
            await fetcher.get(url, allow_private=True)
    assert caught.value.url == url
    if name == "huge-content-length":
        assert "Content-Length" in str(caught.value)  # refused before reading


async def test_total_deadline_spans_the_whole_redirect_chain(fault: FaultServer) -> None:
    fault.route("/slow-hop", Drip(b"x" * 5, 0.3))  # 1.5 s of body
    fault.route("/r1", Redirect("/slow-hop"))
    async with Fetcher(FetchSettings(min_delay=0, total_timeout=1.0)) as fetcher:
        with bounded(2.0), pytest.raises(FetchTimeout):
            await fetcher.get(fault.url("/r1"), allow_private=True)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirect_chain_within_the_cap_is_followed(
    fault: FaultServer, fetcher: Fetcher, status: int
) -> None:
    fault.route("/final", Reply(b"arrived"))
    fault.route("/r/4", Redirect("../final", status))  # relative Location
    for hop in range(4):
        fault.route(f"/r/{hop}", Redirect(fault.url(f"/r/{hop + 1}"), status))
    result = await fetcher.get(fault.url("/r/0"), allow_private=True)
    assert result.content == b"arrived"
    assert result.final_url == fault.url("/final")
    assert result.url == fault.url("/r/0")


@pytest.mark.parametrize("hops", [6, 0])
async def test_too_many_redirects_stops_at_the_cap(
    fault: FaultServer, fetcher: Fetcher, hops: int
) -> None:
    start = fault.chain("/c", hops, Reply(b"never") if hops else None)
    if hops == 0:  # /c/0 redirects to itself: a loop
        start = fault.route("/c/0", Redirect("/c/0"))
    with pytest.raises(TooManyRedirects):
        await fetcher.get(start, allow_private=True)
    assert fault.hits() == FAST.max_redirects + 1
    assert fault.hits("/c/6") == 0


LAST_MODIFIED = "Wed, 04 Mar 2026 10:00:00 GMT"


@pytest.mark.parametrize(
    ("etag", "last_modified", "not_modified"),
    [
        ('"v7"', None, True),
        (None, LAST_MODIFIED, True),
        ('"v7"', LAST_MODIFIED, True),
        ('"v6"', None, False),
        (None, "Tue, 03 Mar 2026 10:00:00 GMT", False),
    ],
)
async def test_conditional_get(
    fault: FaultServer,
    fetcher: Fetcher,
    etag: str | None,
    last_modified: str | None,
    not_modified: bool,
) -> None:
    url = fault.route("/feed.xml", Conditional(b"<rss/>", '"v7"', LAST_MODIFIED))
    result = await fetcher.get(url, etag=etag, last_modified=last_modified, allow_private=True)
    assert result.not_modified is not_modified
    assert result.status == (304 if not_modified else 200)
    assert result.content == (b"" if not_modified else b"<rss/>")
    assert (result.etag, result.last_modified) == ('"v7"', LAST_MODIFIED)
    sent = fault.requests[0].headers
    assert sent.get("if-none-match") == etag
    assert sent.get("if-modified-since") == last_modified


async def test_304_without_validators_keeps_the_callers(
    fault: FaultServer, fetcher: Fetcher
) -> None:
    url = fault.route("/bare304", Reply(status=304))
    result = await fetcher.get(url, etag='"e"', last_modified=LAST_MODIFIED, allow_private=True)
    assert (result.not_modified, result.etag, result.last_modified) == (True, '"e"', LAST_MODIFIED)


@pytest.mark.parametrize("status", [400, 403, 404, 410, 500, 502])
async def test_non_2xx_raises_http_status_error(
    fault: FaultServer, fetcher: Fetcher, status: int
) -> None:
    url = fault.route("/status", Reply(b"nope", status))
    with pytest.raises(HTTPStatusError) as caught:
        await fetcher.get(url, allow_private=True)
    assert (caught.value.status, caught.value.retry_after, caught.value.url) == (status, None, url)


async def test_refused_connection_is_connect_failed(fetcher: Fetcher) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectFailed):
        await fetcher.get(f"http://127.0.0.1:{port}/", allow_private=True)


class _Resolver:
    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.delay, self.fail = delay, fail

    async def resolve(self, host: str, port: int) -> list[str]:
        await asyncio.sleep(self.delay)
        if self.fail:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return ["127.0.0.1"]


@pytest.mark.parametrize(
    ("resolver", "error"),
    [(_Resolver(fail=True), ConnectFailed), (_Resolver(delay=5.0), FetchTimeout)],
    ids=["unknown-host", "slow-dns"],
)
async def test_name_resolution_failures(
    fault: FaultServer, resolver: _Resolver, error: type[FetchError]
) -> None:
    settings = FetchSettings(min_delay=0, connect_timeout=0.3)
    async with Fetcher(settings, resolver=resolver) as fetcher:
        with bounded(1.5), pytest.raises(error):
            await fetcher.get(f"http://feeds.test:{fault.port}/", allow_private=True)
    assert fault.hits() == 0


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("file:///etc/passwd", BlockedAddress),
        ("ftp://example.org/feed", BlockedAddress),
        ("gopher://example.org/", BlockedAddress),
        ("http://", BlockedAddress),
        ("http://exa mple.org/", FetchError),
    ],
)
async def test_urls_that_are_not_http_are_refused(
    fetcher: Fetcher, url: str, error: type[FetchError]
) -> None:
    with pytest.raises(error):
        await fetcher.get(url, allow_private=True)


async def test_post_returns_any_status_and_sends_the_body(
    fault: FaultServer, fetcher: Fetcher
) -> None:
    url = fault.route("/hook", Reply(b'{"error": "bad signature"}', 401, {"X-Id": "7"}))
    result = await fetcher.post(
        url, b'{"id": "a1"}', {"Content-Type": "application/json"}, allow_private=True
    )
    assert (result.status, result.body, result.headers["x-id"]) == (
        401,
        b'{"error": "bad signature"}',
        "7",
    )
    seen = fault.requests[0]
    assert (seen.method, seen.body) == ("POST", b'{"id": "a1"}')
    assert seen.headers["content-type"] == "application/json"


async def test_post_reads_bodiless_answers_on_a_kept_alive_connection(
    fault: FaultServer, fetcher: Fetcher
) -> None:
    url = fault.route("/hook", Reply(status=204))
    for _ in range(3):
        result = await fetcher.post(url, b"{}", {}, allow_private=True)
        assert (result.status, result.body) == (204, b"")
    assert "content-length" not in result.headers
    assert fault.hits("/hook") == 3


async def test_post_never_follows_redirects(fault: FaultServer, fetcher: Fetcher) -> None:
    url = fault.route("/hook", Redirect("/elsewhere", 307))
    result = await fetcher.post(url, b"{}", {}, allow_private=True)
    assert (result.status, result.headers["location"]) == (307, "/elsewhere")
    assert fault.hits("/elsewhere") == 0


async def test_post_answer_is_cut_at_64_kib(fault: FaultServer, fetcher: Fetcher) -> None:
    url = fault.route("/hook", Endless())
    with bounded(5.0):
        result = await fetcher.post(url, b"{}", {}, allow_private=True)
    assert (result.status, len(result.body)) == (200, 64 * 1024)


async def test_post_is_guarded_and_bounded_in_time(fault: FaultServer, fetcher: Fetcher) -> None:
    url = fault.route("/hook", Hang())
    with pytest.raises(BlockedAddress):
        await fetcher.post(url, b"{}", {})
    assert fault.hits() == 0
    with bounded(2.0), pytest.raises(FetchTimeout):
        await fetcher.post(url, b"{}", {}, allow_private=True, timeout=0.5)
    assert fault.hits("/hook") == 1
