"""``monitor worker``: one Procrastinate worker process on the config's PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Sequence

from procrastinate import App, PsycopgConnector

from monitor.alerts import build_notifiers, digest_schedules
from monitor.config import Config
from monitor.errors import ConfigError
from monitor.fetch import Fetcher, FetchSettings
from monitor.observe import Metrics, event, settle_heap
from monitor.pipeline import RuleSync, Runtime, sync_config, utcnow
from monitor.store import Store, is_postgres, libpq_url, open_store
from monitor.text import redact_url
from monitor.worker._state import WorkerState
from monitor.worker._tasks import STALLED_AFTER, register

log = logging.getLogger("monitor.worker")

QUEUES = ("poll", "deliver", "maint")
HEARTBEAT_EVERY = 2.0  # well under STALLED_AFTER: a live worker is never taken for dead
GRACE = 20.0  # SIGTERM: jobs in flight get this long to finish, as in `monitor run`


def build_app(database: str, state: WorkerState, pool_size: int = 10) -> App:
    """A Procrastinate app on ``database`` with this process's tasks on it."""
    connector = PsycopgConnector(conninfo=libpq_url(database), min_size=1, max_size=pool_size)
    app = App(connector=connector)
    register(app, state)
    return app


def check_queues(queues: Sequence[str]) -> list[str]:
    unknown = [q for q in queues if q not in QUEUES]
    if unknown or not queues:
        raise ConfigError(
            f"--queues: unknown queue(s) {', '.join(unknown) or '(none given)'}; "
            f"choose among {', '.join(QUEUES)}"
        )
    return list(queues)


async def _follow_rules(stack: contextlib.AsyncExitStack, store: Store) -> RuleSync:
    """A ``RuleSync`` caught up with the rules table and following it (NOTIFY plus a
    version check every 30 s) until the worker stops: a worker started with another
    sources.yaml changes the rules of every worker, a few ms of the loop at a time."""
    follower = RuleSync(store)
    await follower.catch_up()
    task = asyncio.create_task(follower.run())

    async def stop() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    stack.push_async_callback(stop)
    return follower


async def run_worker(
    config: Config,
    *,
    queues: Sequence[str] = QUEUES,
    concurrency: int = 16,
    partitions: int = 64,
) -> None:
    """Run jobs of ``queues`` until SIGTERM/SIGINT; PostgreSQL only."""
    if not is_postgres(config.database):
        raise ConfigError(
            "monitor worker needs PostgreSQL (database: postgresql://...; "
            f"got {redact_url(config.database)}): on SQLite run the single daemon, "
            "`monitor run`"
        )
    wanted = check_queues(queues)
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # Procrastinate logs every job at INFO: a line a second per periodic task.
        logging.getLogger("procrastinate").setLevel(logging.WARNING)
    store = await asyncio.to_thread(open_store, config.database)
    try:
        async with contextlib.AsyncExitStack() as stack:
            settings = FetchSettings.from_config(config.fetch)
            fetcher = await stack.enter_async_context(Fetcher(settings))
            # Each webhook channel gets a client of its own: its keep-alive connections
            # are not looked through on every poll's request (nor the polls' on every
            # send), and a slow receiver cannot take the pollers' connections.
            posts = {
                name: (await stack.enter_async_context(Fetcher(settings))).post
                for name, channel in config.channels.items()
                if channel.type == "webhook"
            }
            metrics = Metrics()
            await asyncio.to_thread(sync_config, store, config, utcnow())
            rules = (await _follow_rules(stack, store)).rules
            rt = Runtime(config, store, fetcher, rules, metrics=metrics)
            stack.push_async_callback(rt.aclose)  # its page workers, its browser
            rt.start_ledger()  # each poll job flushes it before it ends
            state = WorkerState(
                config, store, rt, build_notifiers(config, fetcher.post, posts),
                digest_schedules(config), partitions=partitions,
                poll_slots=asyncio.Semaphore(config.max_concurrency),
            )  # fmt: skip
            app = build_app(config.database, state, pool_size=concurrency + 4)
            settle_heap()  # started: what is alive now lives as long as the worker
            name = f"{socket.gethostname()}:{os.getpid()}"
            event(
                log, "worker running", name=name, queues=",".join(wanted),
                concurrency=concurrency, sources=len(config.sources),
            )  # fmt: skip
            async with app.open_async():
                await app.run_worker_async(
                    queues=wanted, name=name, concurrency=concurrency,
                    update_heartbeat_interval=HEARTBEAT_EVERY,
                    stalled_worker_timeout=STALLED_AFTER,
                    shutdown_graceful_timeout=GRACE, delete_jobs="successful",
                    fetch_job_polling_interval=1.0,
                )  # fmt: skip
    finally:
        await asyncio.to_thread(store.close)
    event(log, "worker stopped")
