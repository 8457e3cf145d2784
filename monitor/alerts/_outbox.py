"""The outbox worker: lease due alerts, hand them to their channel, record the outcome.

An alert is marked sent only after its receiver accepted it, so a crash between send
and mark resends it once, with the same id (the webhook-id and the Message-ID come
from it). Failures back off; an alert still undelivered after ``MAX_DELIVERY_AGE`` is
dead and waits for ``monitor alerts retry``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from monitor.alerts._message import AlertMessage, AlertPayload, Notifier, StoryInfo
from monitor.alerts._retry import next_attempt
from monitor.errors import DeliveryError, StoreError
from monitor.observe import Metrics, event
from monitor.store import OutboxItem, Store

log = logging.getLogger("monitor.alerts.outbox")

# Long enough for a slow SMTP exchange; a worker that dies frees its alerts after it.
SEND_LEASE = timedelta(minutes=2)
_T = TypeVar("_T")
# How long a finished send waits for others to share its mark's transaction: it adds
# this to the window in which a crash resends an accepted alert (with the same id).
MARK_LINGER = 0.05


def message_from(item: OutboxItem) -> AlertMessage:
    """Rebuild the alert from its outbox row: the id is the row's, never a new one."""
    payload = AlertPayload.from_json(item.payload)
    story = None
    if item.story_id is not None:
        story = StoryInfo(
            id=item.story_id,
            outlets=item.outlets or (payload.article.source,),
            links=item.outlet_links,
        )
    return AlertMessage.from_payload(item.alert_id, payload, story, item.created)


@dataclass
class DeliveryStats:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    sent_by: dict[str, int] = field(default_factory=dict)
    failed_by: dict[str, int] = field(default_factory=dict)
    dead_by: dict[str, int] = field(default_factory=dict)


async def deliver_due(
    store: Store,
    notifiers: Mapping[str, Notifier],
    clock: Callable[[], datetime],
    rng: random.Random | None = None,
    limit: int = 50,
    metrics: Metrics | None = None,
    owner: str | None = None,
    caps: Mapping[str, int | None] | None = None,
) -> DeliveryStats:
    """Deliver every alert due now (one batch); returns what happened.

    ``caps`` limits alerts per channel per hour; the excess waits for the digest.
    """
    stats = DeliveryStats()
    items = await asyncio.to_thread(
        store.claim_outbox, clock(), SEND_LEASE, limit, tuple(notifiers), owner
    )
    # Channels are independent: a slow mail server must not hold webhooks back.
    by_channel: dict[str, list[OutboxItem]] = {}
    for item in items:
        by_channel.setdefault(item.channel, []).append(item)
    for channel, batch in by_channel.items():
        cap = (caps or {}).get(channel)
        if cap is not None:
            by_channel[channel] = await _apply_cap(store, channel, batch, cap, clock())
    await asyncio.gather(
        *(
            _deliver_channel(store, notifiers[ch], batch, clock, rng or random.Random(), stats)
            for ch, batch in by_channel.items()
        )
    )
    if metrics is not None:
        for channel, n in stats.sent_by.items():
            metrics.alerts_delivered.labels(channel).inc(n)
        for channel, n in stats.failed_by.items():
            metrics.alerts_failed.labels(channel).inc(n)
    return stats


async def _apply_cap(
    store: Store, channel: str, batch: list[OutboxItem], cap: int, now: datetime
) -> list[OutboxItem]:
    sent = await asyncio.to_thread(store.sent_since, channel, now - timedelta(hours=1))
    room = max(cap - sent, 0)
    for item in batch[room:]:
        await asyncio.to_thread(store.fold_into_digest, item.id)
    if len(batch) > room:
        event(log, "flood cap reached: alerts folded into the digest", logging.WARNING,
              channel=channel, folded=len(batch) - room, cap=cap)  # fmt: skip
    return batch[:room]


async def deliver_channel(
    store: Store,
    notifier: Notifier,
    channel: str,
    clock: Callable[[], datetime],
    rng: random.Random,
    *,
    owner: str,
    cap: int | None = None,
    concurrency: int = 1,
    limit: int = 50,
    resume: bool = False,
) -> DeliveryStats:
    """One batch of one channel's due alerts, up to ``concurrency`` sends at once.

    The worker's deliver job calls it while it holds the channel's lock (one sender per
    channel in the cluster); ``owner`` is the job: with ``resume`` (the job's first
    batch), the rows a previous run of the same job left leased are taken again at once.
    """
    stats = DeliveryStats()
    items = await asyncio.to_thread(
        lambda: store.claim_outbox(clock(), SEND_LEASE, limit, (channel,), owner, resume=resume)
    )
    if cap is not None:
        items = await _apply_cap(store, channel, items, cap, clock())
    # A worker sends hundreds a second: one line per alert would cost more CPU than the
    # send; each alert's line is at debug, and the batch gets one.
    await _deliver_channel(store, notifier, items, clock, rng, stats, concurrency, logging.DEBUG)
    if items:
        event(
            log, "alerts delivered", channel=channel, sent=stats.sent, failed=stats.failed,
            dead=stats.dead,
        )  # fmt: skip
    return stats


class _Marks:
    """Group commit of the outcomes of one channel's sends.

    A finished send's row joins the pending group; the first send to find no mark
    running writes the group (and whatever finishes meanwhile, in the next one) with one
    fenced UPDATE, so a busy channel pays one transaction per group, not per alert.
    Rows stay leased until their group commits: a crash in between resends at most the
    sends in flight and the pending group (``MARK_LINGER`` of finished sends), with the
    same ids, which the receiver drops as repeats. The wait ends early once every send
    of the batch has finished (``left`` counts them down): no other can join then, and a
    channel that answers at once (the log, a local webhook) has its batch marked as soon
    as it is sent, not ``MARK_LINGER`` later.
    """

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        stats: DeliveryStats,
        level: int,
        left: int,
    ) -> None:
        self._store, self._clock, self._stats, self._level = store, clock, stats, level
        self._pending: list[OutboxItem] = []
        self._writing = False
        self._left = left  # sends of the batch not finished yet
        self._all_finished = asyncio.Event()
        if left <= 0:
            self._all_finished.set()

    def finished(self) -> None:
        """One send of the batch is over, whatever its outcome."""
        self._left -= 1
        if self._left <= 0:
            self._all_finished.set()

    async def _linger(self) -> None:
        # Let the sends finishing meanwhile join: a mark is quick next to a send, so
        # without the wait most groups would hold a single row.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._all_finished.wait(), MARK_LINGER)

    async def sent(self, item: OutboxItem) -> None:
        self._pending.append(item)
        if self._writing:
            return  # the running writer takes it in its next group
        self._writing = True
        try:
            while self._pending:
                await self._linger()
                group, self._pending = self._pending, []
                await self._write(group)
        except asyncio.CancelledError:
            # A stopping worker: what the receiver accepted is recorded before the job
            # hands its leases back, or the next sender would send it again.
            rest, self._pending = self._pending, []
            if rest:
                await asyncio.shield(asyncio.ensure_future(self._write(rest)))
            raise
        finally:
            self._writing = False

    async def _write(self, group: list[OutboxItem]) -> None:
        by_token: dict[str | None, list[OutboxItem]] = {}
        for item in group:
            by_token.setdefault(item.lease_token, []).append(item)
        now = self._clock()
        for token, items in by_token.items():
            ids = [i.id for i in items]
            mark = partial(self._store.mark_sent_many, ids, now, token)
            marked = set(await _recorded(mark, items[0].channel, len(ids)))
            for item in items:
                self._record(item, item.id in marked)

    def _record(self, item: OutboxItem, marked: bool) -> None:
        fields = {"alert": item.rule, "channel": item.channel, "alert_id": item.alert_id}
        if not marked:
            # Our lease ran out and another sender claimed the row: it records the outcome.
            event(log, "alert sent after its lease was lost", logging.WARNING, **fields)
            return
        self._stats.sent += 1
        self._stats.sent_by[item.channel] = self._stats.sent_by.get(item.channel, 0) + 1
        event(log, "alert sent", self._level, status="sent", **fields)


async def _deliver_channel(
    store: Store,
    notifier: Notifier,
    items: list[OutboxItem],
    clock: Callable[[], datetime],
    rng: random.Random,
    stats: DeliveryStats,
    concurrency: int = 1,
    level: int = logging.INFO,
) -> None:
    slots = asyncio.Semaphore(max(concurrency, 1))
    gone: list[str] = []  # set once the receiver says it is gone for good
    marks = _Marks(store, clock, stats, level, len(items))

    async def one(item: OutboxItem) -> None:
        async with slots:
            try:
                accepted = not gone and await _send_one(
                    store, notifier, item, clock, rng, stats, gone
                )
            finally:
                marks.finished()
        if accepted:
            # The slot is free before the mark: the next send need not wait for the database.
            await marks.sent(item)

    await asyncio.gather(*(one(item) for item in items))


async def _send_one(
    store: Store,
    notifier: Notifier,
    item: OutboxItem,
    clock: Callable[[], datetime],
    rng: random.Random,
    stats: DeliveryStats,
    gone: list[str],
) -> bool:
    """Send one alert; True when the receiver accepted it (the caller marks it sent)."""
    fields = {"alert": item.rule, "channel": item.channel, "alert_id": item.alert_id}
    try:
        await notifier.send(message_from(item))
    except DeliveryError as exc:
        await _record_failure(store, item, exc, clock, rng, stats)
        if exc.permanent and not gone:
            # The receiver says it is gone for good (410): stop sending to it.
            gone.append(str(exc))
            await asyncio.to_thread(store.disable_channel, item.channel, str(exc))
            event(
                log, "channel disabled", logging.ERROR, status="disabled", error=str(exc),
                **fields,
            )  # fmt: skip
        return False
    except Exception as exc:  # a notifier bug must not kill the worker
        wrapped = DeliveryError(f"{type(exc).__name__}: {exc}")
        await _record_failure(store, item, wrapped, clock, rng, stats)
        return False
    return True


async def _recorded(call: Callable[[], _T], channel: str, count: int) -> _T:
    """Run a store call that records deliveries the receiver accepted, waiting out a
    database outage for up to half the send lease: given up, those alerts would be sent
    again once the lease ends."""
    deadline = asyncio.get_running_loop().time() + SEND_LEASE.total_seconds() / 2
    while True:
        try:
            return await asyncio.to_thread(call)
        except StoreError as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise
            event(log, "sent, not recorded yet: database unavailable", logging.WARNING,
                  channel=channel, alerts=count, error=str(exc))  # fmt: skip
            await asyncio.sleep(1.0)


async def _record_failure(
    store: Store,
    item: OutboxItem,
    exc: DeliveryError,
    clock: Callable[[], datetime],
    rng: random.Random,
    stats: DeliveryStats,
) -> None:
    now = clock()
    stats.failed_by[item.channel] = stats.failed_by.get(item.channel, 0) + 1
    retry_at = next_attempt(item.attempts + 1, item.created, now, rng, exc.retry_after)
    if retry_at is None:
        stats.dead += 1
        stats.dead_by[item.channel] = stats.dead_by.get(item.channel, 0) + 1
    else:
        stats.failed += 1
    await asyncio.to_thread(
        store.mark_failed, item.id, now, str(exc), retry_at, token=item.lease_token
    )
    event(
        log, "alert delivery failed", logging.WARNING,
        alert=item.rule, channel=item.channel, alert_id=item.alert_id,
        status="failed" if retry_at else "dead", error=str(exc), next_attempt=retry_at,
    )  # fmt: skip
