"""Digests: when each channel's digest falls due, and sending it.

A digest that fell due while the daemon was down goes out at the first round after.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from monitor.alerts._message import Notifier
from monitor.alerts._outbox import SEND_LEASE, message_from
from monitor.alerts._retry import retry_delay
from monitor.alerts._schedule import Schedule, parse_schedule
from monitor.errors import DeliveryError
from monitor.observe import event
from monitor.store import Store

if TYPE_CHECKING:
    from monitor.config import Config

log = logging.getLogger("monitor.alerts.digest")


async def deliver_digests(
    store: Store,
    notifiers: Mapping[str, Notifier],
    schedules: Mapping[str, Schedule],
    clock: Callable[[], datetime],
    rng: random.Random | None = None,
    owner: str | None = None,
) -> int:
    """Send each channel's digest if one fell due since the last; returns how many went.

    A digest that fell due while the daemon was down goes out at the first call.
    """
    sent = 0
    for channel, schedule in schedules.items():
        notifier = notifiers.get(channel)
        if notifier is None:
            continue
        now = clock()
        last, oldest = await asyncio.to_thread(store.digest_state, channel)
        due = schedule.last_due(now)
        if oldest is None or oldest > due or (last is not None and last >= due):
            continue
        try:
            if await send_digest_now(store, notifier, channel, clock, rng, owner):
                sent += 1
        except DeliveryError:
            continue  # recorded on the alerts and the channel; retried on its schedule
    return sent


async def send_digest_now(
    store: Store,
    notifier: Notifier,
    channel: str,
    clock: Callable[[], datetime],
    rng: random.Random | None = None,
    owner: str | None = None,
) -> int:
    """Send the alerts waiting for ``channel``'s digest now, whatever its schedule
    (``monitor digest send``); returns how many it carried, 0 when none waited.

    Raises :class:`DeliveryError` when the channel refused it; the alerts then keep
    waiting, as after a scheduled digest that failed.
    """
    now = clock()
    items = await asyncio.to_thread(store.claim_digest, channel, now, SEND_LEASE, owner)
    if not items:
        return 0
    ids = [i.id for i in items]
    try:
        await notifier.send_digest(channel, [message_from(i) for i in items])
    except Exception as exc:  # recorded, retried; never fatal to the worker
        attempts = max(i.attempts for i in items) + 1
        retry_at = now + timedelta(seconds=retry_delay(attempts, rng or random.Random()))
        await asyncio.to_thread(store.fail_digest, ids, channel, retry_at, str(exc))
        event(log, "digest failed", logging.WARNING, channel=channel, error=str(exc))
        if isinstance(exc, DeliveryError):
            raise
        raise DeliveryError(f"digest of {channel} failed: {exc}") from exc
    await asyncio.to_thread(store.finish_digest, ids, channel, clock())
    event(log, "digest sent", channel=channel, alerts=len(ids))
    return len(ids)


def digest_schedules(config: Config) -> dict[str, Schedule]:
    """Every channel's digest schedule: its own, or hourly for alerts folded by its cap."""
    out: dict[str, Schedule] = {}
    for name, ch in config.channels.items():
        if ch.mode == "digest" or "digest" in ch.model_fields_set:
            out[name] = ch.schedule()
        else:
            out[name] = parse_schedule("hourly", ch.timezone)
    return out


def next_digests(
    config: Config, waiting: Mapping[str, int], now: datetime
) -> dict[str, datetime | None]:
    """When each digest channel, or channel with alerts waiting for a digest (folded by
    its cap), sends its next digest; None for a schedule that never falls due again."""
    schedules = digest_schedules(config)
    out: dict[str, datetime | None] = {}
    for name, ch in config.channels.items():
        if ch.mode == "digest" or waiting.get(name, 0):
            at = schedules[name].next_due(now)
            out[name] = at.astimezone(schedules[name].zone) if at else None
    return out


def channel_caps(config: Config) -> dict[str, int | None]:
    return {name: ch.max_per_hour for name, ch in config.channels.items()}
