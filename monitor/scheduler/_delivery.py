"""Delivery for the daemon: one round of the outbox and the digests, ``--once``'s
drain, and the gauges a round leaves behind."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitor.alerts import (
    DeliveryStats,
    Notifier,
    channel_caps,
    deliver_digests,
    deliver_due,
    digest_schedules,
    next_digests,
)
from monitor.config import Config
from monitor.observe import Metrics, event
from monitor.pipeline import Runtime
from monitor.store import Store, digest_depth, disabled_channels, outbox_depth

log = logging.getLogger("monitor.scheduler")

# --once keeps delivering while the next retry is at most this far away.
ONCE_PATIENCE = timedelta(minutes=1)
# Seconds --once waits before the next round when the due alerts were not all sent at
# once (a retry due in a moment); a round that sent a full batch goes on at once.
ROUND_PAUSE = 0.05


@dataclass(frozen=True)
class Delivery:
    """How one daemon delivers: its clock, its metrics, and the owner its sends lease under."""

    clock: Callable[[], datetime]
    metrics: Metrics
    owner: str

    async def round(self, rt: Runtime, notifiers: dict[str, Notifier]) -> DeliveryStats:
        """One round: instant alerts due now, then any digest that fell due."""
        stats = await deliver_due(
            rt.db(), notifiers, self.clock, rt.rng,
            metrics=self.metrics, owner=self.owner, caps=channel_caps(rt.config),
        )  # fmt: skip
        schedules = digest_schedules(rt.config)
        await deliver_digests(rt.db(), notifiers, schedules, self.clock, rt.rng, self.owner)
        return stats

    async def drain(self, rt: Runtime, notifiers: dict[str, Notifier]) -> dict[str, int]:
        """Deliver until every alert is sent, or waits more than ONCE_PATIENCE, or waits
        on a disabled channel (nothing would ever claim it: waiting on it is a spin).
        Returns the alerts that went dead meanwhile, per channel."""
        dead: dict[str, int] = {}
        while True:
            stats = await self.round(rt, notifiers)
            for channel, n in stats.dead_by.items():
                dead[channel] = dead.get(channel, 0) + n
            off = await asyncio.to_thread(disabled_channels, rt.db())
            live = [name for name in notifiers if name not in off]
            nxt = await asyncio.to_thread(rt.db().next_outbox_attempt, live) if live else None
            if nxt is None:
                return dead
            wait = (nxt - self.clock()).total_seconds()
            if wait > ONCE_PATIENCE.total_seconds():
                event(log, "alerts left for later", next_attempt=nxt)
                return dead
            # Due but nothing claimed: another sender holds its lease; do not spin on it.
            idle = not (stats.sent or stats.failed or stats.dead)
            if wait <= 0 and not idle:
                continue  # a full batch went out and more are due: the next one at once
            await asyncio.sleep(max(wait, 1.0 if idle else ROUND_PAUSE))

    async def gauges(self, store: Store, config: Config, channels: list[str]) -> None:
        """The outbox and digest gauges after a round: alerts waiting per channel, and
        when each channel's next digest goes. Raises the store's error if it fails."""
        depth = await asyncio.to_thread(outbox_depth, store)
        for channel in channels:
            self.metrics.outbox_depth.labels(channel).set(depth.get(channel, 0))
        waiting = await asyncio.to_thread(digest_depth, store)
        for channel, at in next_digests(config, waiting, datetime.now(UTC)).items():
            self.metrics.digest_waiting.labels(channel).set(waiting.get(channel, 0))
            if at is not None:
                self.metrics.next_digest.labels(channel).set(at.timestamp())
