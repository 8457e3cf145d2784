"""robots.txt, parsed by Protego and cached per origin, for the pages the daemon crawls.

How a robots.txt answer reads follows RFC 9309: a 2xx is parsed (its first 512 KiB);
a 4xx means there are no rules; a 5xx or 429 means the site is unreachable and
everything is disallowed until we ask again. Rules are kept a day, the "unreachable"
verdict ten minutes. Too many redirects, or a redirect the guard refuses, reads as
"unavailable" (no rules). A request that fails at the network level is not cached:
the page request would have failed the same way, and its error says more.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from protego import Protego

from monitor.fetch._politeness import Origin

MAX_ROBOTS_BYTES = 512 * 1024
RULES_TTL = 86_400.0
UNREACHABLE_TTL = 600.0


@dataclass(frozen=True, slots=True)
class RobotsAnswer:
    """The final response to a robots.txt request (after redirects)."""

    status: int
    body: bytes


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    crawl_delay: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class _Entry:
    rules: Protego | None
    allow_all: bool
    expires: float


RobotsFetch = Callable[[], Awaitable[RobotsAnswer | None]]


def _entry(answer: RobotsAnswer | None, now: float) -> _Entry:
    if answer is None:  # the redirect chain was too long: RFC 9309 says "unavailable"
        return _Entry(None, True, now + RULES_TTL)
    if 200 <= answer.status < 300:
        text = answer.body.decode("utf-8", errors="replace")
        return _Entry(Protego.parse(text), False, now + RULES_TTL)
    if answer.status == 429 or answer.status >= 500:
        return _Entry(None, False, now + UNREACHABLE_TTL)
    return _Entry(None, True, now + RULES_TTL)


class RobotsCache:
    """One verdict per origin; concurrent first requests share one robots.txt fetch."""

    def __init__(self, agent: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._agent = agent
        self._clock = clock
        self._entries: dict[Origin, _Entry] = {}
        self._locks: dict[Origin, asyncio.Lock] = {}

    async def _load(self, origin: Origin, fetch: RobotsFetch) -> _Entry:
        entry = self._entries.get(origin)
        if entry is not None and entry.expires > self._clock():
            return entry
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            entry = self._entries.get(origin)
            if entry is None or entry.expires <= self._clock():
                entry = _entry(await fetch(), self._clock())
                self._forget_expired()
                self._entries[origin] = entry
        return entry

    def _forget_expired(self) -> None:
        now = self._clock()
        for origin in [o for o, e in self._entries.items() if e.expires <= now]:
            del self._entries[origin]
            lock = self._locks.get(origin)
            if lock is not None and not lock.locked():
                del self._locks[origin]

    async def verdict(self, origin: Origin, url: str, fetch: RobotsFetch) -> Verdict:
        """Whether our agent may fetch ``url``; ``fetch`` gets robots.txt when needed
        (``None`` when its redirects ran out)."""
        entry = await self._load(origin, fetch)
        if entry.rules is None:
            if entry.allow_all:
                return Verdict(True, None, "no robots.txt rules")
            return Verdict(False, None, "robots.txt unreachable (5xx or 429)")
        allowed = bool(entry.rules.can_fetch(url, self._agent))
        delay = entry.rules.crawl_delay(self._agent)
        reason = "allowed by robots.txt" if allowed else "disallowed by robots.txt"
        return Verdict(allowed, float(delay) if delay is not None else None, reason)
