"""Per-origin manners: a cap on concurrent requests, a minimum delay between request
starts, and the Retry-After a server asked for.

An origin is (scheme, host, port), as the design defines politeness. While an origin
is cooling down after a 429 or 503 with Retry-After, requests to it fail at once with
the same status, without touching the network: asking again early is exactly what
the server asked us not to do.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx

from monitor.errors import HTTPStatusError

Origin = tuple[str, str, int]

MAX_COOLDOWN = 86_400.0  # a Retry-After further out than a day is read as a day
MAX_CRAWL_DELAY = 60.0
_PRUNE_ABOVE = 1024  # origins remembered before idle ones are forgotten

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: httpx.URL) -> Origin:
    port = url.port or _DEFAULT_PORTS.get(url.scheme, 0)
    return (url.scheme, url.host.lower().rstrip("."), port)


@dataclass(slots=True)
class _OriginState:
    slots: asyncio.Semaphore
    delay: float
    next_start: float = 0.0
    blocked_until: float = 0.0
    blocked_status: int = 0
    users: int = field(default=0)


class Politeness:
    """Shared by every request of one Fetcher; all methods run on its event loop."""

    def __init__(
        self,
        concurrency: int,
        min_delay: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._concurrency = max(1, concurrency)
        self._min_delay = max(0.0, min_delay)
        self._clock = clock
        self._states: dict[Origin, _OriginState] = {}

    def _state(self, origin: Origin) -> _OriginState:
        state = self._states.get(origin)
        if state is None:
            if len(self._states) >= _PRUNE_ABOVE:
                self._prune()
            state = _OriginState(asyncio.Semaphore(self._concurrency), self._min_delay)
            self._states[origin] = state
        return state

    def _prune(self) -> None:
        now = self._clock()
        idle = [
            origin
            for origin, state in self._states.items()
            if state.users == 0 and state.next_start <= now and state.blocked_until <= now
        ]
        for origin in idle:
            del self._states[origin]

    def check_cooldown(self, origin: Origin, url: str) -> None:
        """Raise the remembered 429/503 while the origin's Retry-After runs."""
        state = self._states.get(origin)
        if state is None:
            return
        remaining = state.blocked_until - self._clock()
        if remaining > 0:
            raise HTTPStatusError(
                f"HTTP {state.blocked_status} earlier; server asked to wait "
                f"{remaining:.0f}s more (not requested)",
                url,
                status=state.blocked_status,
                retry_after=remaining,
            )

    def note_retry_after(self, origin: Origin, status: int, seconds: float) -> None:
        state = self._state(origin)
        state.blocked_until = self._clock() + min(seconds, MAX_COOLDOWN)
        state.blocked_status = status

    def note_crawl_delay(self, origin: Origin, seconds: float) -> None:
        """robots.txt Crawl-delay may lengthen, never shorten, the configured delay."""
        state = self._state(origin)
        state.delay = max(self._min_delay, min(seconds, MAX_CRAWL_DELAY))

    @asynccontextmanager
    async def slot(self, origin: Origin) -> AsyncIterator[None]:
        """Hold one of the origin's concurrent slots, starting no sooner than its
        delay after the previous start."""
        state = self._state(origin)
        state.users += 1
        try:
            async with state.slots:
                now = self._clock()
                start = max(now, state.next_start)
                # Reserved before sleeping, so the next waiter queues behind this one.
                state.next_start = start + state.delay
                if start > now:
                    await asyncio.sleep(start - now)
                yield
        finally:
            state.users -= 1
