"""Throughput of a `monitor worker` cluster with 1, 2 and 4 worker processes.

    uv run python bench/scale.py --json            # the full run
    uv run python bench/scale.py --json --quick    # a small run, about a minute
    uv run python bench/scale.py --deliver-only --alerts 4000 --json   # delivery alone
    uv run python bench/scale.py --deliver-only --alerts 1000 --profile  # cProfile it

Each run gets a fresh PostgreSQL database on 127.0.0.1 (MONITOR_TEST_POSTGRES_URL names
the server), news sites on loopback hosts 127.0.0.10+ (one FaultServer each, article
pages answering after a few ms), ~45 alerts that match every article, and a webhook
receiver that answers in 20 ms and counts webhook-ids. The sources exist before the
workers start and all fall due once they are up; the clock runs from then until every
source is polled, every article stored and every alert delivered.

Some articles are published on two hosts (a near copy: the same story), so
``stories_expected`` is the number of distinct texts and ``stories_found`` the stories
the database holds; ``lost_alerts`` counts the (rule, story) alerts that never arrived,
``duplicate_alerts`` the webhook-ids the receiver accepted more than once.
``max_in_flight_per_origin`` is the most requests any site saw at once;
``delivered_per_s`` is timed at the receiver (first to last accepted alert).

``--deliver-only`` times delivery alone: ``--alerts`` rows are written into the outbox
before the workers start (only their ``deliver`` and ``maint`` queues run), then all fall
due at once; ``delivered_per_s`` is timed at the receiver for 1 and 2 workers (one
sender per channel in the cluster, so a second worker only takes over, it cannot add a
sender to the one channel). ``--profile`` runs one deliver loop in this process under
cProfile instead, against the same receiver, and prints the costliest functions.

``join_first_insert_ms`` comes from ``bench/stories_pg.py`` and ``rule_update_s`` from
``bench/rules_sync.py`` (100k stories, 100k rules; 10k each with ``--quick``).
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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tests.crashkit import RULE, ForkSpawner, exit_code
from tests.faultserver import FaultServer
from tests.workerkit import Hook, Site, fresh_database, wait_for, write_config

QUERIES = ("Amazon", "IA", "Amazon IA", "Amazon OR IA", "Amazon AND IA")


@dataclass(frozen=True)
class Plan:
    hosts: int
    feeds: int  # per host
    per_feed: int  # articles per feed
    copies: int  # hosts that republish another host's feed 0 (near copies)
    rules: int
    per_host: int
    page_delay: float
    workers: tuple[int, ...]
    timeout: float


FULL = Plan(16, 4, 8, 4, 45, 2, 0.01, (1, 2, 4), 900)
QUICK = Plan(4, 2, 3, 1, 45, 2, 0.01, (1, 2, 4), 120)


def _sites(stack: ExitStack, plan: Plan) -> list[Site]:
    sites = []
    for h in range(plan.hosts):
        server = stack.enter_context(FaultServer(f"127.0.0.{10 + h}"))
        sites.append(Site(server, h * 1000, plan.feeds, plan.per_feed, plan.page_delay))
    for h in range(plan.copies):
        # Host h+copies... republishes host h's first feed: same texts, other URLs.
        server = stack.enter_context(FaultServer(f"127.0.0.{10 + plan.hosts + h}"))
        sites.append(Site(server, h * 1000, 1, plan.per_feed, plan.page_delay))
    return sites


def _rules_yaml(plan: Plan) -> str:
    return "".join(
        f"  - {{name: {RULE}-{r}, query: '{QUERIES[r % len(QUERIES)]}', notify: [hook]}}\n"
        for r in range(plan.rules)
    )


def _cpu_ticks() -> tuple[int, int]:
    """(busy, all) ticks of the whole machine so far (/proc/stat): how many of its cores
    a phase kept busy, PostgreSQL, the sites and the receiver included."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def _sql(database: str, query: str) -> Any:
    import psycopg

    with psycopg.connect(database, autocommit=True) as conn:
        row = conn.execute(query).fetchone()
    return row[0] if row else None


def one_run(spawner: ForkSpawner, plan: Plan, workers: int, scratch: Path) -> dict[str, Any]:
    from monitor.store import SourceSpec, Store

    with ExitStack() as stack:
        db = stack.enter_context(fresh_database("monitor_bench"))
        sites = _sites(stack, plan)
        receiver = stack.enter_context(FaultServer("127.0.0.1"))
        hook = Hook(delay=0.02)
        here = scratch / f"w{workers}"
        here.mkdir()
        config = write_config(
            here, db, sites, receiver.route("/hook", hook), per_host=plan.per_host,
            concurrency=16,
        )  # fmt: skip
        text = config.read_text()
        start = text.index("alerts:\n") + len("alerts:\n")
        end = text.index("channels:")
        config.write_text(text[:start] + _rules_yaml(plan) + text[end:])
        store = Store(db)
        store.migrate()
        specs = [
            SourceSpec(f"s{n}-{k}", url, "feed", 600)
            for n, site in enumerate(sites)
            for k, url in enumerate(site.feed_urls())
        ]
        store.sync_sources(specs, datetime.now(UTC) + timedelta(hours=1))
        store.close()
        procs = [
            spawner.start(
                ["--log-format", "json", "--config", str(config), "worker"],
                here / f"worker-{n}.log",
            )
            for n in range(workers)
        ]
        try:
            ready = wait_for(
                lambda: (_sql(db, "SELECT count(*) FROM procrastinate_workers") or 0) >= workers,
                120,
            )
            if not ready:
                raise SystemExit(f"workers did not start; see {here}")
            texts = {i for s in sites for i in s.articles()}
            articles = sum(len(s.articles()) for s in sites)
            expected_alerts = len(texts) * plan.rules
            t0, ticks0 = time.monotonic(), _cpu_ticks()
            _sql(db, "UPDATE sources SET next_check = now() AT TIME ZONE 'utc' RETURNING 1")
            polled = wait_for(
                lambda: _sql(db, "SELECT count(*) FROM sources WHERE polls > 0") >= len(specs),
                plan.timeout,
            )
            t_polls = time.monotonic()
            stored = wait_for(
                lambda: _sql(db, "SELECT count(*) FROM articles") >= articles, plan.timeout
            )
            t_articles, ticks1 = time.monotonic(), _cpu_ticks()
            wait_for(lambda: sum(hook.accepted.values()) >= expected_alerts, plan.timeout)
            t_alerts = time.monotonic()
            time.sleep(1.0)  # late repeats show up now
        finally:
            for p in procs:
                os.kill(p.pid, signal.SIGTERM)
            for p in procs:
                exit_code(p, 60)
        stories = _sql(db, "SELECT count(DISTINCT story_id) FROM articles")
        delivered = len(hook.accepted)
        # Delivery is timed at the receiver, from its first accepted alert to its last:
        # the polls that produce the alerts are timed above.
        span = (hook.last_at or 0.0) - (hook.first_at or 0.0)
        return {
            "polled": polled,
            "stored": stored,
            "polls_per_s": len(specs) / (t_polls - t0),
            "articles_per_s": articles / (t_articles - t0),
            # Cores of the machine busy while the articles were stored (of os.cpu_count()).
            "cores_busy": (ticks1[0] - ticks0[0])
            / max(ticks1[1] - ticks0[1], 1)
            * (os.cpu_count() or 1),
            "delivered_per_s": delivered / max(span, 1e-9),
            "all_delivered_s": t_alerts - t0,
            "alerts_per_article": expected_alerts / articles,
            "max_in_flight_per_origin": max(s.server.max_concurrency() for s in sites),
            "stories_expected": len(texts),
            "stories_found": stories,
            "duplicate_alerts": hook.duplicates(),
            "lost_alerts": expected_alerts - delivered,
        }


def stories_figures(quick: bool) -> dict[str, Any]:
    """``join_first_insert_ms`` (bench/stories_pg.py: a worker's first insert with 100k
    stories in the window) and ``rule_update_s`` (bench/rules_sync.py: 1,000 of 100k
    rules changed, live on 2 workers), each on a throwaway database of its own."""
    from bench import rules_sync, stories_pg

    stories, rules = (10_000, 10_000) if quick else (100_000, 100_000)
    out: dict[str, Any] = {}
    with stories_pg.scratch_database() as url:
        out["join_first_insert_ms"] = round(stories_pg.join_first_insert_ms(url, stories), 1)
    with stories_pg.scratch_database() as url:
        out["rule_update_s"] = round(rules_sync.rule_update_s(url, rules, 1000, 2), 2)
    out["join_stories"], out["rule_count"] = stories, rules
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="a small run (about a minute)")
    parser.add_argument("--deliver-only", action="store_true", help="time delivery alone")
    parser.add_argument("--alerts", type=int, default=4000, help="--deliver-only: outbox rows")
    parser.add_argument("--profile", action="store_true", help="--deliver-only under cProfile")
    args = parser.parse_args(argv)
    if args.deliver_only:
        from scale_deliver import deliver_main

        return deliver_main(args)
    plan = QUICK if args.quick else FULL
    runs: dict[str, dict[str, Any]] = {}
    spawner = ForkSpawner()
    try:
        with tempfile.TemporaryDirectory(prefix="monitor-scale-") as scratch:
            for n in plan.workers:
                runs[str(n)] = one_run(spawner, plan, n, Path(scratch))
                if not args.json:
                    print(f"{n} worker(s): {runs[str(n)]}", file=sys.stderr)
    finally:
        spawner.close()
    two = runs.get("2", next(iter(runs.values())))
    result: dict[str, Any] = {
        "quick": args.quick,
        "workers": list(plan.workers),
        "polls_per_s": {k: round(r["polls_per_s"], 2) for k, r in runs.items()},
        "articles_per_s": {k: round(r["articles_per_s"], 2) for k, r in runs.items()},
        "cores_busy": {k: round(r["cores_busy"], 2) for k, r in runs.items()},
        "delivered_per_s_by_workers": {k: round(r["delivered_per_s"], 1) for k, r in runs.items()},
        "delivered_per_s": round(two["delivered_per_s"], 1),
        "alerts_per_article": round(two["alerts_per_article"], 2),
        "max_in_flight_per_origin": max(r["max_in_flight_per_origin"] for r in runs.values()),
        "per_host_concurrency": plan.per_host,
        "stories_expected": two["stories_expected"],
        "stories_found": two["stories_found"],
        "stories_exact": all(r["stories_found"] == r["stories_expected"] for r in runs.values()),
        "duplicate_alerts": sum(r["duplicate_alerts"] for r in runs.values()),
        "lost_alerts": sum(r["lost_alerts"] for r in runs.values()),
        "all_finished": all(r["polled"] and r["stored"] for r in runs.values()),
        "cpu_count": os.cpu_count(),
        **stories_figures(args.quick),
    }
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
