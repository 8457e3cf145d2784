"""The tasks a worker runs, registered on a Procrastinate app for one process's state.

Periodic tasks are deferred by every worker's periodic deferrer, but Procrastinate
inserts one job per (task, second) in the whole cluster, so each runs once per slot:

- ``dispatch`` (every second) reads ``sources.next_check`` and defers one ``poll`` job
  per host partition with due sources. The schedule stays in the sources table: a
  queue holding a future job per source slows Procrastinate's fetch.
- ``poll`` (one partition) leases that partition's due sources under the job's name and
  polls them. Its queueing lock keeps one waiting job per partition, its lock one
  running one: every host is in one partition, so one process at a time talks to a
  host and the fetcher's per-origin limits hold across the cluster.
- ``sweep`` (every second) defers a ``deliver`` job for each channel with alerts due;
  ``deliver`` holds the channel's lock (one sender per channel in the cluster) and sends
  up to the channel's ``concurrency`` at once, then its digest if one fell due.
- ``recover`` (every 5 s) finds the jobs of workers whose heartbeat stopped, hands back
  their leases (owned by the job) and retries them, so the work of a dead worker
  resumes in seconds on any host.
- ``retention`` (hourly) prunes old articles as ``monitor run`` does daily, and
  Procrastinate's failed jobs after three days.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from procrastinate import App, JobContext
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Status

from monitor.alerts import deliver_channel, deliver_digests
from monitor.observe import event
from monitor.pipeline import poll_source, prune_archive

if TYPE_CHECKING:
    from monitor.worker._state import WorkerState

log = logging.getLogger("monitor.worker")

# A poll job renews its leases this often; a lease outlives a dead worker only until
# `recover` hands it back, so it can be long.
POLL_LEASE = timedelta(minutes=5)
RENEW_EVERY = 60.0
# Sources one poll job leases at most; the rest wait for the next dispatch (a second).
POLL_BATCH = 200
# A deliver job sends batches for at most this long, then leaves the channel to the
# next job the sweeper defers, so a busy channel cannot starve the others.
DELIVER_BUDGET = 30.0
DELIVER_BATCH = 100
# A batch ends with its slowest sends while the slots empty: a batch many times the
# channel's concurrency keeps the slots full for most of it.
BATCH_PER_SLOT = 16
# A worker whose heartbeat is older than this is dead: its jobs are retried.
STALLED_AFTER = 10.0
JOBS_KEPT_HOURS = 72


def owner_of(context: JobContext) -> str:
    """The name every lease of a job is taken under: a retried job keeps its id."""
    assert context.job.id is not None
    return f"job:{context.job.id}"


def register(app: App, state: WorkerState) -> None:
    """Define the tasks on ``app``, each closing over this process's ``state``."""
    _polls(app, state)
    _deliveries(app, state)
    _upkeep(app, state)


def _polls(app: App, state: WorkerState) -> None:
    @app.periodic(cron="* * * * * *", periodic_id="dispatch")
    @app.task(queue="maint", name="dispatch", queueing_lock="dispatch", pass_context=False)
    async def dispatch(timestamp: int) -> None:
        parts = state.partitions
        due = await asyncio.to_thread(state.store.due_partitions, state.clock(), parts)
        for p in due:
            lock = f"poll:{p}"
            with contextlib.suppress(AlreadyEnqueued):
                await poll.configure(lock=lock, queueing_lock=lock).defer_async(
                    partition=p, partitions=parts
                )

    @app.task(queue="poll", name="poll", pass_context=True)
    async def poll(context: JobContext, partition: int, partitions: int) -> None:
        owner = owner_of(context)
        claimed = await asyncio.to_thread(
            lambda: state.store.claim_due(
                state.clock(), owner, POLL_LEASE, POLL_BATCH,
                partition=(partition, partitions), resume=True,
            )
        )  # fmt: skip
        if not claimed:
            return
        ids = [c.id for c in claimed]

        async def renew() -> None:
            while True:
                await asyncio.sleep(RENEW_EVERY)
                until = state.clock() + POLL_LEASE
                await asyncio.to_thread(state.store.renew_leases, owner, ids, until)

        renewing = asyncio.create_task(renew())
        try:

            async def one(c: Any) -> None:
                async with state.poll_slots:
                    await poll_source(state.rt, c)

            await asyncio.gather(*(one(c) for c in claimed))
            if state.rt.ledger is not None:
                # The job ends with its polls recorded, so a retried job finds them done.
                await state.rt.ledger.flush()
        except asyncio.CancelledError:
            # A stopping worker's grace ran out: hand back what was not polled, so the
            # next dispatch gives it to another worker at once.
            await asyncio.to_thread(state.store.release_leases, owner)
            raise
        finally:
            renewing.cancel()


def _deliveries(app: App, state: WorkerState) -> None:
    @app.periodic(cron="* * * * * *", periodic_id="sweep")
    @app.task(queue="maint", name="sweep", queueing_lock="sweep")
    async def sweep(timestamp: int) -> None:
        due = await asyncio.to_thread(state.store.channels_due, state.clock())
        # Digests fall due by the clock, not by a row: each channel is looked at every
        # minute (the deliver job sends a digest only when its schedule says so).
        every = set(state.notifiers) if timestamp % 60 == 0 else set()
        for channel in sorted((set(due) & set(state.notifiers)) | every):
            await defer_delivery(channel)

    async def defer_delivery(channel: str) -> None:
        lock = f"deliver:{channel}"
        with contextlib.suppress(AlreadyEnqueued):
            await deliver.configure(lock=lock, queueing_lock=lock).defer_async(channel=channel)

    @app.task(queue="deliver", name="deliver", pass_context=True)
    async def deliver(context: JobContext, channel: str) -> None:
        notifier = state.notifiers.get(channel)
        if notifier is None:  # no longer in this worker's config
            return
        owner = owner_of(context)
        settings = state.config.channels[channel]
        loop = asyncio.get_running_loop()
        started = loop.time()
        first = True
        batch = max(DELIVER_BATCH, BATCH_PER_SLOT * settings.concurrency)
        try:
            while loop.time() - started < DELIVER_BUDGET:
                stats = await deliver_channel(
                    state.store, notifier, channel, state.clock, state.rt.rng,
                    owner=owner, cap=settings.max_per_hour, concurrency=settings.concurrency,
                    limit=batch, resume=first,
                )  # fmt: skip
                first = False
                if stats.sent + stats.failed + stats.dead == 0:
                    break
        except asyncio.CancelledError:
            # Sends cut by a stop go to the next sender now (with the same ids).
            await asyncio.to_thread(state.store.release_leases, owner)
            raise
        schedules = {k: v for k, v in state.schedules.items() if k == channel}
        if schedules:
            await deliver_digests(
                state.store, {channel: notifier}, schedules, state.clock, state.rt.rng, owner
            )


def _upkeep(app: App, state: WorkerState) -> None:
    @app.periodic(cron="* * * * * */5", periodic_id="recover")
    @app.task(queue="maint", name="recover", queueing_lock="recover", pass_context=True)
    async def recover(context: JobContext, timestamp: int) -> None:
        manager = context.app.job_manager
        stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER)
        for job in stalled:
            if job.id is None or job.id == context.job.id:
                continue
            freed = await asyncio.to_thread(state.store.release_leases, f"job:{job.id}")
            try:
                await manager.retry_job(job)
                outcome = "retried"
            except Exception:
                # A newer job of the same partition or channel waits already (its
                # queueing lock): that one takes the work over; this one is closed.
                try:
                    await manager.finish_job(job, Status.FAILED, delete_job=True)
                    outcome = "closed"
                except Exception as exc:  # finished meanwhile: nothing left to do
                    outcome = f"left: {type(exc).__name__}"
            event(
                log, "took over the job of a stopped worker", logging.WARNING,
                job=job.id, task=job.task_name, leases=freed, outcome=outcome,
            )  # fmt: skip

    @app.periodic(cron="17 * * * *", periodic_id="retention")
    @app.task(queue="maint", name="retention", queueing_lock="retention", pass_context=True)
    async def retention(context: JobContext, timestamp: int) -> None:
        # Finished jobs are deleted as they succeed; failed ones stay a while to be seen.
        await context.app.job_manager.delete_old_jobs(
            nb_hours=JOBS_KEPT_HOURS, include_failed=True, include_cancelled=True,
            include_aborted=True,
        )  # fmt: skip
        now, kept = state.clock(), state.config.retention
        counts = await asyncio.to_thread(prune_archive, state.store, kept, now)
        event(log, "retention", before=None if kept is None else now - kept, **counts)
