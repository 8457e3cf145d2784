"""Politeness per origin against real local servers: Retry-After remembered,
concurrency and delay caps, the User-Agent, and robots.txt for crawled pages."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from monitor.errors import DisallowedByRobots, FetchTimeout, HTTPStatusError
from monitor.fetch import Fetcher, FetchSettings
from tests.faultserver import Delay, FaultServer, Handler, Redirect, Reply, Sequence, Throttle

FAST = FetchSettings(min_delay=0.0)


@pytest.fixture
def fault() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
def other() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def _in_two_minutes() -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)


@pytest.mark.parametrize(
    ("status", "retry_after"),
    [(429, "120"), (429, "date"), (503, "120"), (503, "date")],
)
async def test_retry_after_is_remembered_for_the_origin(
    fault: FaultServer, other: FaultServer, status: int, retry_after: str
) -> None:
    value = _in_two_minutes() if retry_after == "date" else retry_after
    url = fault.route("/feed", Throttle(value, status))
    other.route("/feed", Reply(b"fine"))
    async with Fetcher(FAST) as fetcher:
        with pytest.raises(HTTPStatusError) as first:
            await fetcher.get(url, allow_private=True)
        assert first.value.status == status
        assert first.value.retry_after == pytest.approx(120, abs=2)
        started = time.monotonic()
        with pytest.raises(HTTPStatusError) as second:
            await fetcher.get(fault.url("/another-page"), allow_private=True)
        assert time.monotonic() - started < 0.5
        assert (second.value.kind, second.value.status) == ("http_status", status)
        assert second.value.retry_after == pytest.approx(120, abs=2)
        # Only that origin waits.
        assert (await fetcher.get(other.url("/feed"), allow_private=True)).content == b"fine"
    assert fault.hits() == 1
    assert other.hits() == 1


@pytest.mark.parametrize("status", [429, 503])
async def test_without_retry_after_nothing_is_remembered(fault: FaultServer, status: int) -> None:
    url = fault.route("/feed", Throttle(None, status))
    async with Fetcher(FAST) as fetcher:
        for _ in range(2):
            with pytest.raises(HTTPStatusError) as caught:
                await fetcher.get(url, allow_private=True)
            assert (caught.value.status, caught.value.retry_after) == (status, None)
    assert fault.hits() == 2


async def test_origin_is_asked_again_once_retry_after_has_passed(fault: FaultServer) -> None:
    url = fault.route("/feed", Sequence(Throttle("1", 503), Reply(b"back")))
    async with Fetcher(FAST) as fetcher:
        with pytest.raises(HTTPStatusError):
            await fetcher.get(url, allow_private=True)
        await asyncio.sleep(1.05)
        assert (await fetcher.get(url, allow_private=True)).content == b"back"
    assert fault.hits() == 2


@pytest.mark.parametrize("concurrency", [1, 2, 3])
async def test_concurrent_requests_per_origin_are_capped(
    fault: FaultServer, other: FaultServer, concurrency: int
) -> None:
    fault.route("/slow", Delay(0.1))
    other.route("/slow", Delay(0.1))
    settings = FetchSettings(min_delay=0.0, per_origin_concurrency=concurrency)
    async with Fetcher(settings) as fetcher:
        urls = [fault.url("/slow")] * 6 + [other.url("/slow")] * 2
        await asyncio.gather(*(fetcher.get(u, allow_private=True) for u in urls))
    assert fault.max_concurrency() == concurrency
    assert other.max_concurrency() == min(concurrency, 2)


async def test_min_delay_spaces_requests_to_one_origin_only(
    fault: FaultServer, other: FaultServer
) -> None:
    fault.route("/p", Reply(b"ok"))
    other.route("/p", Reply(b"ok"))
    async with Fetcher(FetchSettings(min_delay=0.25)) as fetcher:
        await asyncio.gather(*(fetcher.get(fault.url("/p"), allow_private=True) for _ in range(3)))
        started = time.monotonic()
        await fetcher.get(other.url("/p"), allow_private=True)
        assert time.monotonic() - started < 0.2  # a fresh origin does not wait
    starts = sorted(r.started for r in fault.requests)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(gaps) == 2 and min(gaps) >= 0.2


async def test_queueing_behind_politeness_is_not_charged_to_the_deadline(
    fault: FaultServer,
) -> None:
    fault.route("/p", Reply(b"ok"))
    settings = FetchSettings(min_delay=0.4, total_timeout=0.3)
    async with Fetcher(settings) as fetcher:
        results = await asyncio.gather(
            *(fetcher.get(fault.url("/p"), allow_private=True) for _ in range(3))
        )
    assert [r.content for r in results] == [b"ok"] * 3


async def test_user_agent_is_configurable(fault: FaultServer) -> None:
    agent = "veille-bot/2.0 (+https://veille.example.org/contact)"
    fault.route("/p", Reply(b"ok"))
    async with Fetcher(FetchSettings(user_agent=agent, min_delay=0)) as fetcher:
        await fetcher.get(fault.url("/p"), allow_private=True)
        await fetcher.post(fault.url("/p"), b"{}", {}, allow_private=True)
    assert [r.headers["user-agent"] for r in fault.requests] == [agent, agent]


ROBOTS = b"""
User-agent: *
Disallow: /private/
Allow: /private/press-release
"""


async def test_robots_disallow_is_obeyed_when_asked(fault: FaultServer) -> None:
    fault.route("/robots.txt", Reply(ROBOTS, headers={"Content-Type": "text/plain"}))
    for path in ("/news/1", "/private/memo", "/private/press-release"):
        fault.route(path, Reply(b"page"))
    async with Fetcher(FAST) as fetcher:
        assert (
            await fetcher.get(fault.url("/news/1"), obey_robots=True, allow_private=True)
        ).status == 200
        press = fault.url("/private/press-release")
        assert (await fetcher.get(press, obey_robots=True, allow_private=True)).status == 200
        with pytest.raises(DisallowedByRobots) as caught:
            await fetcher.get(fault.url("/private/memo"), obey_robots=True, allow_private=True)
        assert caught.value.url == fault.url("/private/memo")
        # Feeds are read as feeds: robots.txt is not consulted without obey_robots.
        await fetcher.get(fault.url("/private/memo"), allow_private=True)
    assert fault.hits("/robots.txt") == 1  # cached per origin
    assert fault.hits("/private/memo") == 1
    assert fault.hits("/news/1") == 1


async def test_robots_is_fetched_once_for_concurrent_first_requests(fault: FaultServer) -> None:
    fault.route("/robots.txt", Delay(0.1, Reply(ROBOTS)))
    fault.route("/a", Reply(b"a"))
    async with Fetcher(FAST) as fetcher:
        await asyncio.gather(
            *(fetcher.get(fault.url("/a"), obey_robots=True, allow_private=True) for _ in range(4))
        )
    assert fault.hits("/robots.txt") == 1
    assert fault.hits("/a") == 4


GROUPS = b"""
User-agent: news-monitor
Disallow: /

User-agent: *
Disallow:
"""


@pytest.mark.parametrize(
    ("agent", "allowed"),
    [
        ("news-monitor/0.1 (+https://github.com/news-monitor/news-monitor)", False),
        ("otherbot/1.0 (+https://example.org)", True),
    ],
)
async def test_robots_group_is_matched_on_our_product_token(
    fault: FaultServer, agent: str, allowed: bool
) -> None:
    fault.route("/robots.txt", Reply(GROUPS))
    url = fault.route("/page", Reply(b"page"))
    async with Fetcher(FetchSettings(user_agent=agent, min_delay=0)) as fetcher:
        if allowed:
            await fetcher.get(url, obey_robots=True, allow_private=True)
        else:
            with pytest.raises(DisallowedByRobots):
                await fetcher.get(url, obey_robots=True, allow_private=True)
    assert fault.hits("/page") == int(allowed)


ROBOTS_ANSWERS: dict[str, tuple[Handler, bool]] = {
    "404-means-no-rules": (Reply(b"not found", 404), True),
    "403-means-no-rules": (Reply(b"forbidden", 403), True),
    "500-means-unreachable": (Reply(b"oops", 500), False),
    "503-means-unreachable": (Reply(b"down", 503), False),
    "429-means-unreachable": (Throttle(None), False),
    "redirect-loop-means-unavailable": (Redirect("/robots.txt"), True),
    "redirect-to-rules": (Redirect("/real-robots.txt"), False),
}


@pytest.mark.parametrize("case", list(ROBOTS_ANSWERS))
async def test_robots_answers_read_as_rfc_9309_says(fault: FaultServer, case: str) -> None:
    handler, allowed = ROBOTS_ANSWERS[case]
    fault.route("/robots.txt", handler)
    fault.route("/real-robots.txt", Reply(b"User-agent: *\nDisallow: /private/\n"))
    url = fault.route("/private/page", Reply(b"page"))
    async with Fetcher(FAST) as fetcher:
        if allowed:
            await fetcher.get(url, obey_robots=True, allow_private=True)
        else:
            with pytest.raises(DisallowedByRobots):
                await fetcher.get(url, obey_robots=True, allow_private=True)
    assert fault.hits("/private/page") == int(allowed)


async def test_robots_crawl_delay_lengthens_the_delay(fault: FaultServer) -> None:
    fault.route("/robots.txt", Reply(b"User-agent: *\nCrawl-delay: 0.3\n"))
    fault.route("/p", Reply(b"ok"))
    async with Fetcher(FAST) as fetcher:
        for _ in range(3):
            await fetcher.get(fault.url("/p"), obey_robots=True, allow_private=True)
    starts = [r.started for r in fault.requests_to("/p")]
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 0.25


async def test_robots_fetch_that_hangs_is_bounded(fault: FaultServer) -> None:
    fault.route("/robots.txt", Delay(5.0))
    url = fault.route("/p", Reply(b"ok"))
    async with Fetcher(FetchSettings(min_delay=0, read_timeout=0.3)) as fetcher:
        with pytest.raises(FetchTimeout):
            await fetcher.get(url, obey_robots=True, allow_private=True)
    assert fault.hits("/p") == 0
