"""``Daemon``: ``run`` (the APScheduler jobs, signals, reload, settling on stop) and
``run --once``, over one store and one fetcher."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from tqdm import tqdm

from monitor.alerts import DeliveryStats, Notifier, build_notifiers
from monitor.config import Config
from monitor.errors import MonitorError
from monitor.fetch import Fetcher, FetchSettings
from monitor.observe import Metrics, event, hold_secrets, serve, settle_heap
from monitor.pipeline import (
    PollResult,
    Rules,
    Runtime,
    poll_source,
    prune_archive,
    started_pages,
    sync_config,
    utcnow,
)
from monitor.scheduler._delivery import Delivery
from monitor.scheduler._owners import config_secrets, owner_is_dead
from monitor.scheduler._reload import file_stamp, load_running_set, log_schedule
from monitor.scheduler._report import OnceReport
from monitor.store import (
    HEARTBEAT_EVERY,
    ClaimedSource,
    Store,
    beat,
    open_store,
    sign_off,
    undelivered,
)
from monitor.web import check_bind, web_handler

if TYPE_CHECKING:  # the daemon only hands the pipeline's page workers on
    from monitor.pages import PagePool

log = logging.getLogger("monitor.scheduler")

# A source leased by a daemon that stops renewing it (it hung, or died on another host)
# goes to another after this; the dispatcher renews in-flight leases every tick.
POLL_LEASE = timedelta(minutes=5)


@dataclass
class _Live:
    """What a reload swaps: the runtime (config, rules) and the notifiers."""

    rt: Runtime
    notifiers: dict[str, Notifier]


@dataclass
class Daemon:
    """One daemon: its config and timings; ``run`` or ``run_once`` does the work."""

    config_path: Path
    config: Config
    clock: Callable[[], datetime] = utcnow
    dispatch_every: float = 2.0
    deliver_every: float = 5.0
    watch_every: float = 5.0
    grace: float = 20.0
    http: tuple[str, int] | None = None
    metrics: Metrics = field(default_factory=Metrics)
    owner: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    )
    # Running state, not configuration.
    _tasks: set[asyncio.Task[PollResult]] = field(default_factory=set, init=False, repr=False)
    _deliveries: set[asyncio.Task[DeliveryStats]] = field(
        default_factory=set, init=False, repr=False
    )
    _in_flight: set[int] = field(default_factory=set, init=False, repr=False)
    _unrecorded: set[int] = field(default_factory=set, init=False, repr=False)
    _db_down: bool = field(default=False, init=False, repr=False)
    _last_dispatch: float = field(default_factory=time.monotonic, init=False, repr=False)
    _config_stamp: tuple[float, int] | None = field(default=None, init=False, repr=False)
    _stop: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _delivery: Delivery = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._delivery = Delivery(self.clock, self.metrics, self.owner)
        self._config_stamp = file_stamp(self.config_path)
        hold_secrets(config_secrets(self.config))

    async def run_once(self) -> list[PollResult]:
        """Poll every source once, deliver until nothing is due within a minute, return
        the polls' results (``run_once_report`` also says what could not be sent)."""
        report = await self.run_once_report()
        return report.results

    async def run_once_report(self) -> OnceReport:
        """``run --once``: the polls' results and the alerts left undelivered."""
        # The first page worker starts now, so that its imports (a third of a second
        # without bytecode caches) overlap opening the store, the sync and the first
        # fetches: until it is ready, this process reads pages and feeds itself, on the
        # event loop's interpreter lock.
        pages = started_pages(self.config)
        try:
            return await self._once(pages)
        finally:
            await pages.aclose()

    async def _once(self, pages: PagePool) -> OnceReport:
        store = await asyncio.to_thread(open_store, self.config.database)
        beating: asyncio.Task[None] | None = None
        try:
            await asyncio.to_thread(self._sync, store)
            # A run from cron is a daemon while it runs: status shows it, then "stopped".
            beating = asyncio.create_task(self._beat_every(store, self.clock()))
            async with Fetcher(FetchSettings.from_config(self.config.fetch)) as fetcher:
                live = self._live(store, fetcher, pages)
                rt = live.rt
                ledger = rt.start_ledger()
                claimed = await asyncio.to_thread(
                    store.claim_due, self.clock(), self.owner, POLL_LEASE, 100_000, due_or_not=True
                )
                slots = asyncio.Semaphore(self.config.max_concurrency)
                # A first pass over many sources takes a while: show it on a terminal.
                bar = tqdm(total=len(claimed), unit="source", disable=None, leave=False)

                async def one(c: ClaimedSource) -> PollResult:
                    result = await self._guarded(slots, rt, c)
                    bar.update()
                    return result

                try:
                    results = list(await asyncio.gather(*(one(c) for c in claimed)))
                finally:
                    await rt.aclose()
                bar.close()
                await ledger.aclose()
                if any(r.kind == "store" for r in results):
                    # The database fails (a full disk): a send it could not record would
                    # go out again next run. The alerts wait, queued, for that run.
                    event(log, "database failing: alerts left queued", logging.ERROR)
                    return OnceReport(results, [])
                dead = await self._delivery.drain(rt, live.notifiers)
                unsent = await asyncio.to_thread(undelivered, store, list(live.notifiers), dead)
        finally:
            if beating is not None:
                beating.cancel()
                with contextlib.suppress(asyncio.CancelledError, MonitorError):
                    await beating
                with contextlib.suppress(MonitorError):
                    await asyncio.to_thread(sign_off, store, self.owner, self.clock())
            await asyncio.to_thread(store.close)
        return OnceReport(results, unsent)

    async def _beat_every(self, store: Store, started: datetime) -> None:
        while True:
            await self._beat(store, started)
            await asyncio.sleep(HEARTBEAT_EVERY.total_seconds())

    def _live(self, store: Store, fetcher: Fetcher, pages: PagePool | None = None) -> _Live:
        """The running set for the current config: its runtime and its notifiers
        (``pages``: page workers already started; by default the runtime's own)."""
        rt = self._runtime(store, fetcher, self.config, pages)
        return _Live(rt, build_notifiers(self.config, fetcher.post))

    def _runtime(
        self, store: Store, fetcher: Fetcher, config: Config, pages: PagePool | None = None
    ) -> Runtime:
        rules = Rules.from_config(config)
        return Runtime(
            config, store, fetcher, rules, self.clock, metrics=self.metrics,
            pages=pages,  # type: ignore[arg-type]  # None: the Runtime makes its own
        )  # fmt: skip

    def _sync(self, store: Store) -> None:
        sync_config(store, self.config, self.clock())
        freed = store.reclaim_dead(lambda owner: owner_is_dead(owner, self.owner))
        if freed:
            event(log, "took over work of a stopped daemon", leases=freed)

    def stop(self) -> None:
        """Ask a running daemon to stop, as SIGTERM does."""
        self._stop.set()

    async def run(self) -> None:
        """The daemon: returns after SIGTERM/SIGINT once in-flight work is settled."""
        store = await asyncio.to_thread(open_store, self.config.database)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        server = None
        started = self.clock()
        try:
            await asyncio.to_thread(self._sync, store)
            await self._beat(store, started)
            if self.http is not None:
                check_bind(self.http[0], self.config.http.token)
                handler = web_handler(
                    lambda: self.config, store, self.metrics, lambda: self._health(store)
                )
                server = await serve(*self.http, handler)
                event(
                    log, "serving /healthz, /metrics and the web view",
                    listen=f"{self.http[0]}:{self.http[1]}", token=bool(self.config.http.token),
                )  # fmt: skip
            async with Fetcher(FetchSettings.from_config(self.config.fetch)) as fetcher:
                await self._serve(store, fetcher)
        finally:
            if server is not None:
                server.close()
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            await asyncio.to_thread(store.release_leases, self.owner)
            with contextlib.suppress(MonitorError):  # the database may be what stopped us
                await asyncio.to_thread(sign_off, store, self.owner, self.clock())
            await asyncio.to_thread(store.close)
        event(log, "stopped")

    async def _beat(self, store: Store, started: datetime) -> None:
        """Tell ``monitor status`` this daemon is alive; a failed beat is only logged."""
        try:
            host, pid = socket.gethostname(), os.getpid()
            await asyncio.to_thread(beat, store, self.owner, host, pid, started, self.clock())
        except MonitorError as exc:
            event(log, "heartbeat not written", logging.WARNING, error=str(exc))

    async def _serve(self, store: Store, fetcher: Fetcher) -> None:
        live = self._live(store, fetcher)
        ledger = live.rt.start_ledger()  # reloads keep it: replace() copies the reference
        slots = asyncio.Semaphore(self.config.max_concurrency)
        loop = asyncio.get_running_loop()
        reloads: set[asyncio.Task[None]] = set()

        def on_hup() -> None:
            task = loop.create_task(self._reload(store, fetcher, live))
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        loop.add_signal_handler(signal.SIGHUP, on_hup)
        scheduler = self._scheduler(store, fetcher, live, slots)
        scheduler.start()
        log_schedule(self.config)
        settle_heap()  # started: what is alive now lives as long as the daemon
        await self._dispatch(store, live, slots)
        try:
            await self._stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            await self._settle()
            await live.rt.aclose()
            await ledger.aclose()  # before run() hands back the leases still held

    def _scheduler(
        self, store: Store, fetcher: Fetcher, live: _Live, slots: asyncio.Semaphore
    ) -> AsyncIOScheduler:
        """The daemon's jobs: dispatch, deliver, watch the file, retention, heartbeat."""
        scheduler = AsyncIOScheduler(timezone="UTC")
        opts = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        scheduler.add_job(
            self._dispatch, "interval", seconds=self.dispatch_every, id="dispatch",
            args=(store, live, slots), **opts,
        )  # fmt: skip
        scheduler.add_job(
            self._deliver_tick, "interval", seconds=self.deliver_every, id="deliver",
            args=(store, live),
            next_run_time=datetime.now(UTC), **opts,  # alerts left by a previous life go now
        )  # fmt: skip
        scheduler.add_job(
            self._watch_config, "interval", seconds=self.watch_every, id="watch",
            args=(store, fetcher, live), **opts,
        )  # fmt: skip
        scheduler.add_job(
            self._prune, "interval", hours=24, id="retention", args=(store,),
            next_run_time=datetime.now(UTC), **opts,
        )  # fmt: skip
        scheduler.add_job(
            self._beat, "interval", seconds=HEARTBEAT_EVERY.total_seconds(), id="heartbeat",
            args=(store, self.clock()), **opts,
        )  # fmt: skip
        return scheduler

    async def _dispatch(self, store: Store, live: _Live, slots: asyncio.Semaphore) -> None:
        self._last_dispatch = time.monotonic()
        self.metrics.last_dispatch.set_to_current_time()
        try:
            await self._claim_and_start(store, live, slots)
            self._db_ok()
        except MonitorError as exc:
            # The database is away (a restart, an outage): /healthz says 503 meanwhile,
            # and the next tick tries again. Nothing was claimed, so nothing is lost.
            self._db_trouble("dispatch", exc)

    async def _claim_and_start(self, store: Store, live: _Live, slots: asyncio.Semaphore) -> None:
        if self._unrecorded:
            # Polls whose outcome could not be written still hold their lease: free
            # them now the database answers, rather than at the lease's end.
            ids = list(self._unrecorded)
            await asyncio.to_thread(store.renew_leases, self.owner, ids, self.clock())
            self._unrecorded.difference_update(ids)
        if self._in_flight:
            until = self.clock() + POLL_LEASE
            ids = list(self._in_flight)
            await asyncio.to_thread(store.renew_leases, self.owner, ids, until)
        free = self.config.max_concurrency - len(self._tasks)
        if free <= 0 or self._stop.is_set():
            return
        claimed = await asyncio.to_thread(
            store.claim_due, self.clock(), self.owner, POLL_LEASE, free
        )
        for c in claimed:
            task = asyncio.create_task(self._guarded(slots, live.rt, c))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver_tick(self, store: Store, live: _Live) -> None:
        # Its own task, shielded: a stop lets a send in flight finish (see _settle)
        # instead of cutting it between the receiver's yes and our record of it.
        task = asyncio.ensure_future(self._delivery.round(live.rt, live.notifiers))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)
        try:
            await asyncio.shield(task)
            await self._delivery.gauges(store, live.rt.config, list(live.notifiers))
        except asyncio.CancelledError:
            # The scheduler stops its jobs on shutdown; the send itself goes on and
            # _settle waits for it, so this is not a failure worth a traceback.
            return
        except MonitorError as exc:
            self._db_trouble("deliver", exc)

    async def _health(self, store: Store) -> tuple[bool, str]:
        stale = time.monotonic() - self._last_dispatch > max(3 * self.dispatch_every, 30.0)
        if stale:
            return False, "scheduler has not dispatched recently\n"
        if not await asyncio.to_thread(store.ping):
            return False, "database does not answer\n"
        return True, "ok\n"

    async def _guarded(
        self, slots: asyncio.Semaphore, rt: Runtime, claimed: ClaimedSource
    ) -> PollResult:
        self._in_flight.add(claimed.id)
        try:
            async with slots:
                result = await poll_source(rt, claimed)
        finally:
            self._in_flight.discard(claimed.id)
        if result.kind == "store":
            self._unrecorded.add(claimed.id)
        return result

    def _db_trouble(self, job: str, exc: MonitorError) -> None:
        """One line per outage (and one when it ends), not a traceback every tick."""
        if not self._db_down:
            event(log, "database unavailable", logging.ERROR, job=job, error=str(exc))
        self._db_down = True

    def _db_ok(self) -> None:
        if self._db_down:
            event(log, "database answers again")
        self._db_down = False

    async def _settle(self) -> None:
        """Let in-flight polls and sends finish within the grace period; cancel the rest
        (their leases are handed back in run(), so another daemon takes them at once)."""
        work: set[asyncio.Task[Any]] = {*self._tasks, *self._deliveries}
        if not work:
            return
        event(
            log, "stopping: waiting for in-flight work",
            polls=len(self._tasks), deliveries=len(self._deliveries),
        )  # fmt: skip
        _, pending = await asyncio.wait(work, timeout=self.grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)

    async def _watch_config(self, store: Store, fetcher: Fetcher, live: _Live) -> None:
        """Reload when sources.yaml changes on disk, as on SIGHUP."""
        stamp = file_stamp(self.config_path)
        if stamp != self._config_stamp:
            self._config_stamp = stamp
            event(log, "config file changed", path=str(self.config_path))
            await self._reload(store, fetcher, live)

    async def _prune(self, store: Store) -> None:
        now = self.clock()
        try:
            counts = await asyncio.to_thread(prune_archive, store, self.config.retention, now)
        except MonitorError as exc:  # tomorrow's run prunes what today's could not
            self._db_trouble("retention", exc)
            return
        before = None if self.config.retention is None else now - self.config.retention
        event(log, "retention", before=before, **counts)

    async def _reload(self, store: Store, fetcher: Fetcher, live: _Live) -> None:
        try:
            config, rules, notifiers = await load_running_set(
                self.config_path, self.config, live.rt.rules.index.vocabulary, fetcher
            )
        except MonitorError as exc:
            event(log, "reload refused; keeping the running config", logging.ERROR, error=str(exc))
            return
        # The story index survives a reload: it is about the articles, not the config.
        rt = replace(live.rt, config=config, rules=rules, _by_name=None)
        hold_secrets(config_secrets(config))
        self.config, live.rt, live.notifiers = config, rt, notifiers
        try:
            await asyncio.to_thread(self._sync, store)
        except MonitorError as exc:  # the next reload or restart syncs; polls go on
            self._db_trouble("reload", exc)
        event(log, "reloaded", sources=len(config.sources), alerts=len(config.alerts))
