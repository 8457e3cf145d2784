"""When to poll a source next: its interval, adapted to how often it publishes, never
sooner than the server's own caching hints, and backing off while it fails.

Pure functions of the poll's outcome; the pipeline records the result on the source.
This module is the one place that decides when a source is polled next.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from monitor.config import SourceConfig
from monitor.errors import HTTPStatusError
from monitor.fetch import cache_lifetime
from monitor.pipeline._listing import Listing

# A failing source is retried after interval x 2^errors, never later than this.
MAX_BACKOFF = timedelta(hours=6)
# Caching hints (Cache-Control, Expires, RSS ttl) are obeyed up to this: a feed that
# says "come back in a year" is still read daily.
MAX_HINT = timedelta(days=1)
# Publishing rate is read from entries dated within this window.
RATE_WINDOW = timedelta(days=7)


def adaptive_interval(
    base: timedelta, ceiling: timedelta, dates: Sequence[datetime], now: datetime
) -> timedelta:
    """Half the mean gap between recent entries, within [base, ceiling].

    A feed that publishes every few minutes is polled at its configured interval; one
    that publishes twice a week drifts towards the ceiling, sparing both sides.
    """
    recent = sorted(d for d in dates if now - RATE_WINDOW <= d <= now)
    if len(recent) < 2:
        # Nothing dated recently: a quiet feed, polled at the ceiling.
        return ceiling if dates else base
    gap = (recent[-1] - recent[0]) / (len(recent) - 1)
    return min(max(gap / 2, base), ceiling)


def next_success(
    now: datetime,
    interval: timedelta,
    rng: random.Random,
    hints: Sequence[float | None] = (),
) -> datetime:
    """The next poll after a success: the interval with jitter, no sooner than the hints."""
    # Jitter spreads sources that share an interval so they do not all fire together.
    delay = interval * rng.uniform(0.9, 1.1)
    for hint in hints:
        if hint is not None and hint > 0:
            delay = max(delay, min(timedelta(seconds=hint), MAX_HINT))
    return now + delay


def next_failure(
    now: datetime,
    interval: timedelta,
    errors: int,
    rng: random.Random,
    retry_after: float | None = None,
) -> datetime:
    """Exponential backoff with jitter, capped and never giving up; Retry-After wins when
    it asks for longer."""
    base = interval * (2 ** min(max(errors - 1, 0), 16))
    delay: timedelta = min(base, max(MAX_BACKOFF, interval)) * rng.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return now + delay


def after_success(
    source: SourceConfig, listing: Listing, now: datetime, rng: random.Random
) -> datetime:
    """The next poll of a source that answered: its interval (adapted to its publishing
    rate when ``adaptive``), no sooner than its caching hints."""
    interval = source.interval
    if source.adaptive and listing.dates:
        interval = adaptive_interval(interval, source.ceiling(), listing.dates, now)
    hints = (cache_lifetime(listing.result.headers), listing.ttl)
    return next_success(now, interval, rng, hints)


def after_failure(
    source: SourceConfig, errors: int, exc: BaseException, now: datetime, rng: random.Random
) -> datetime:
    """The next poll of a source whose ``errors``-th poll in a row failed with ``exc``."""
    retry_after = exc.retry_after if isinstance(exc, HTTPStatusError) else None
    return next_failure(now, source.interval, errors, rng, retry_after)
