"""When sources are polled next: adaptive intervals, caching hints, backoff."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from monitor.pipeline import MAX_BACKOFF, MAX_HINT, adaptive_interval, next_failure, next_success

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TEN_MIN, SIX_H = timedelta(minutes=10), timedelta(hours=6)


def _every(gap: timedelta, n: int = 10) -> list[datetime]:
    return [NOW - gap * i for i in range(n)]


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (_every(timedelta(minutes=2)), TEN_MIN),  # busy feed: never faster than configured
        (_every(timedelta(hours=1)), timedelta(minutes=30)),  # half the gap
        (_every(timedelta(days=1), 5), SIX_H),  # quiet: capped at the ceiling
        ([NOW - timedelta(days=30), NOW - timedelta(days=40)], SIX_H),  # nothing recent
        ([NOW], SIX_H),  # one recent entry: no rate to read
        ([], TEN_MIN),  # no dates at all: the configured interval
        ([NOW + timedelta(days=2), NOW + timedelta(days=3)], SIX_H),  # future dates ignored
    ],
)
def test_adaptive_interval(dates: list[datetime], expected: timedelta) -> None:
    assert adaptive_interval(TEN_MIN, SIX_H, dates, NOW) == expected


@pytest.mark.parametrize(
    ("hints", "low", "high"),
    [
        ((), 0.9 * 600, 1.1 * 600),
        ((None, 0.0), 0.9 * 600, 1.1 * 600),  # no-cache or no hint: the interval
        ((3600.0, None), 3600, 3600),  # Cache-Control max-age is a lower bound
        ((None, 1800.0), 1800, 1800),  # RSS ttl too
        ((10 * 86400.0,), MAX_HINT.total_seconds(), MAX_HINT.total_seconds()),  # capped at a day
    ],
)
def test_next_success_obeys_hints(hints: tuple[float | None, ...], low: float, high: float) -> None:
    for seed in range(20):
        delay = (next_success(NOW, TEN_MIN, random.Random(seed), hints) - NOW).total_seconds()
        assert low <= delay <= high


def test_backoff_grows_is_capped_never_gives_up_and_obeys_retry_after() -> None:
    rng = random.Random(7)
    delays = [(next_failure(NOW, TEN_MIN, n, rng) - NOW) for n in range(1, 30)]
    assert delays[0] <= TEN_MIN * 1.2 and delays[2] >= TEN_MIN * 4 * 0.8
    assert max(delays) <= MAX_BACKOFF * 1.2 and min(delays[8:]) >= MAX_BACKOFF * 0.8
    assert next_failure(NOW, TEN_MIN, 1, rng, retry_after=7200) - NOW >= timedelta(hours=2)
    # Jitter: two sources failing together do not come back together.
    assert len({next_failure(NOW, TEN_MIN, 3, random.Random(s)) for s in range(10)}) == 10
