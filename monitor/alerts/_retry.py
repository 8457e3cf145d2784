"""When the outbox tries a failed alert again, and when it gives up: the whole retry policy.

The outbox worker calls :func:`next_attempt` after each failed attempt. The steps follow
what webhook senders commonly use (about 5 s, 5 min, 30 min, 2 h, 5 h, then every 10 h) so a
receiver that is down for a deploy recovers within seconds while one that is down for a day
is not hammered.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

# An alert still undelivered this long after it was created is dead: it waits for
# `monitor alerts retry` instead of being tried for ever.
MAX_DELIVERY_AGE = timedelta(days=3)

# Seconds to wait after the n-th failed attempt (index n - 1); the last step repeats.
_STEPS: tuple[float, ...] = (5.0, 5 * 60.0, 30 * 60.0, 2 * 3600.0, 5 * 3600.0, 10 * 3600.0)

# +-20 % spreads the retries of alerts that failed together (one receiver outage) so they
# do not all come back in the same second.
_JITTER = 0.2


def retry_delay(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before the next attempt, given how many attempts have failed so far.

    ``attempts`` below 1 counts as 1. Pass a seeded ``rng`` for reproducible jitter.
    """
    step = _STEPS[min(max(attempts, 1), len(_STEPS)) - 1]
    draw = (rng or random).uniform(-_JITTER, _JITTER)
    return step * (1.0 + draw)


def next_attempt(
    failed_attempts: int,
    created: datetime,
    now: datetime,
    rng: random.Random | None = None,
    retry_after: float | None = None,
) -> datetime | None:
    """When to try again after ``failed_attempts`` failures, or None when the alert is
    dead. The receiver's own Retry-After wins when it asks for longer."""
    if now - created > MAX_DELIVERY_AGE:
        return None
    delay = retry_delay(failed_attempts, rng)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return now + timedelta(seconds=delay)
