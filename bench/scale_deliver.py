"""``bench/scale.py --deliver-only``: delivery alone, or one sender under cProfile.

``--alerts`` rows are written into the outbox before the workers start (only their
``deliver`` and ``maint`` queues run), then all fall due at once; ``delivered_per_s`` is
timed at the receiver (20 ms an answer) for 1 and 2 workers. ``--profile`` runs one
channel's deliver loop in this process under cProfile against the same receiver.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.crashkit import RULE, ForkSpawner, exit_code
from tests.faultserver import FaultServer
from tests.workerkit import Hook, Site, fresh_database, wait_for, write_config


def _sql(database: str, query: str) -> Any:
    import psycopg

    with psycopg.connect(database, autocommit=True) as conn:
        row = conn.execute(query).fetchone()
    return row[0] if row else None


def _fill_outbox(db: str, alerts: int) -> None:
    """``alerts`` pending webhook alerts for channel ``hook``, due in an hour."""
    import psycopg

    payload = json.dumps(
        {
            "alert": RULE, "query": "Amazon IA", "matched": ["amazon", "ia"],
            "article": {
                "url": "https://news.example.org/bench", "title": "Amazon et l'IA",
                "source": "bench", "published": "2026-11-03T09:00:00+00:00", "language": "fr",
                "snippet": "Amazon annonce des licenciements " * 4,
                "snippet_html": "<mark>Amazon</mark> annonce des licenciements " * 4,
            },
        }
    )  # fmt: skip
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO outbox (alert_id, rule, channel, payload, status, attempts,"
            " next_attempt, created) SELECT 'bench-' || n, %s, 'hook', %s, 'pending', 0,"
            " now() AT TIME ZONE 'utc' + interval '1 hour', now() AT TIME ZONE 'utc'"
            " FROM generate_series(1, %s) AS n",
            (RULE, payload, alerts),
        )


def _due_now(db: str) -> None:
    _sql(db, "UPDATE outbox SET next_attempt = now() AT TIME ZONE 'utc' RETURNING 1")


def deliver_run(
    spawner: ForkSpawner, workers: int, alerts: int, scratch: Path, timeout: float
) -> dict[str, Any]:
    """Workers on queues deliver,maint only, ``alerts`` rows due at once."""
    with ExitStack() as stack:
        db = stack.enter_context(fresh_database("monitor_bench"))
        site = Site(stack.enter_context(FaultServer("127.0.0.10")), 0, 1, 1)
        receiver = stack.enter_context(FaultServer("127.0.0.1"))
        hook = Hook(delay=0.02)
        here = scratch / f"d{workers}"
        here.mkdir()
        config = write_config(here, db, [site], receiver.route("/hook", hook), concurrency=16)
        from monitor.store import Store

        store = Store(db)
        store.migrate()
        store.close()
        _fill_outbox(db, alerts)
        argv = ["--log-format", "json", "--config", str(config), "worker"]
        procs = [
            spawner.start([*argv, "--queues", "deliver,maint"], here / f"worker-{n}.log")
            for n in range(workers)
        ]
        try:
            ready = wait_for(
                lambda: (_sql(db, "SELECT count(*) FROM procrastinate_workers") or 0) >= workers,
                120,
            )
            if not ready:
                raise SystemExit(f"workers did not start; see {here}")
            t0 = time.monotonic()
            _due_now(db)
            done = wait_for(lambda: len(hook.accepted) >= alerts, timeout)
            t_all = time.monotonic()
            time.sleep(1.0)  # late repeats show up now
        finally:
            for p in procs:
                os.kill(p.pid, signal.SIGTERM)
            for p in procs:
                exit_code(p, 60)
        span = (hook.last_at or 0.0) - (hook.first_at or 0.0)
        return {
            "finished": done,
            "delivered_per_s": len(hook.accepted) / max(span, 1e-9),
            "all_delivered_s": t_all - t0,
            "duplicate_alerts": hook.duplicates(),
            "lost_alerts": alerts - len(hook.accepted),
        }


def deliver_profile(alerts: int, top: int = 30) -> dict[str, Any]:
    """One channel's deliver loop in this process under cProfile (the worker's calls)."""
    import asyncio
    import cProfile
    import pstats
    import random

    from monitor.alerts import build_notifiers, deliver_channel
    from monitor.config import load_config
    from monitor.fetch import Fetcher, FetchSettings
    from monitor.store import Store

    with ExitStack() as stack, tempfile.TemporaryDirectory() as scratch:
        db = stack.enter_context(fresh_database("monitor_bench"))
        site = Site(stack.enter_context(FaultServer("127.0.0.10")), 0, 1, 1)
        receiver = stack.enter_context(FaultServer("127.0.0.1"))
        hook = Hook(delay=0.02)
        path = write_config(Path(scratch), db, [site], receiver.route("/hook", hook))
        config = load_config(path)
        store = Store(db)
        store.migrate()
        _fill_outbox(db, alerts)
        _due_now(db)

        def clock() -> datetime:
            return datetime.now(UTC)

        async def loop() -> float:
            async with Fetcher(FetchSettings.from_config(config.fetch)) as fetcher:
                [notifier] = build_notifiers(config, fetcher.post).values()
                t0 = time.monotonic()
                while True:
                    stats = await deliver_channel(
                        store, notifier, "hook", clock, random.Random(1), owner="job:bench",
                        concurrency=16, limit=100,
                    )  # fmt: skip
                    if stats.sent + stats.failed + stats.dead == 0:
                        return time.monotonic() - t0

        profiler = cProfile.Profile()
        elapsed = profiler.runcall(asyncio.run, loop())
        store.close()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(top)
        cpu = pstats.Stats(profiler).total_tt  # type: ignore[attr-defined]
        return {
            "profiled": True,
            "delivered": len(hook.accepted),
            "delivered_per_s_profiled": round(len(hook.accepted) / elapsed, 1),
            "cpu_ms_per_send": round(1000 * cpu / max(len(hook.accepted), 1), 3),
            "duplicate_alerts": hook.duplicates(),
        }


def deliver_main(args: argparse.Namespace) -> int:
    if args.profile:
        print(json.dumps(deliver_profile(args.alerts)))
        return 0
    runs: dict[str, dict[str, Any]] = {}
    spawner = ForkSpawner()
    try:
        with tempfile.TemporaryDirectory(prefix="monitor-scale-") as scratch:
            for n in (1, 2):
                runs[str(n)] = deliver_run(spawner, n, args.alerts, Path(scratch), 300)
                if not args.json:
                    print(f"{n} worker(s): {runs[str(n)]}", file=sys.stderr)
    finally:
        spawner.close()
    result = {
        "deliver_only": True,
        "alerts": args.alerts,
        "webhook_delay_ms": 20,
        "channel_concurrency": 16,
        "delivered_per_s_by_workers": {k: round(r["delivered_per_s"], 1) for k, r in runs.items()},
        "all_delivered_s": {k: round(r["all_delivered_s"], 2) for k, r in runs.items()},
        "duplicate_alerts": sum(r["duplicate_alerts"] for r in runs.values()),
        "lost_alerts": sum(r["lost_alerts"] for r in runs.values()),
        "all_finished": all(r["finished"] for r in runs.values()),
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(result, indent=None if args.json else 2))
    return 0
