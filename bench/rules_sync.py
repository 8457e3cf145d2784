"""Benchmark: rules in the database, and loading a very large config.

    uv run python bench/rules_sync.py --json [--rules 100000] [--changed 1000] [--workers 2]
        [--sources 100000] [--url URL]

* ``rule_update_s``: ``--workers`` processes each follow the rules table with a
  ``RuleSync`` holding ``--rules`` rules; then ``--changed`` of them are edited in one
  sync. The figure is the time from that sync's start until the last worker has the
  new version live. ``max_step_ms`` is the longest one step of filing rules held a
  worker's event loop, ``max_stall_ms`` the longest a 5 ms ticker on that loop waited.
* ``config_load``: a generated sources.yaml of ``--sources`` sources and as many alerts,
  timed through ``load_config``, ``Rules.from_config``, ``Store.sync_sources`` and
  ``sync_rules`` (the first sync of an empty database, then a second with nothing new).

``--url`` is a PostgreSQL database (migrated first); without it a throwaway database
is created on ``$MONITOR_TEST_POSTGRES_URL`` and dropped. bench/scale.py imports
``rule_update_s``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stories_pg import scratch_database
from monitor.config import load_config
from monitor.pipeline import Rules, RuleSync, sync_rules
from monitor.store import RuleSpec, SourceSpec, Store, open_store

WORDS = [
    "amazon",
    "google",
    "apple",
    "meta",
    "microsoft",
    "nvidia",
    "intel",
    "tesla",
    "ia",
    "ai",
    "licenciements",
    "layoffs",
    "grève",
    "strike",
    "budget",
    "climat",
    "énergie",
    "nucléaire",
    "élection",
    "vote",
    "santé",
    "vaccin",
    "hôpital",
    "école",
    "banque",
    "taux",
    "inflation",
    "bourse",
    "marché",
    "export",
    "import",
    "frontière",
    "police",
    "justice",
    "procès",
]
_SPEC = json.dumps(
    {"languages": [], "max_age": "259200s", "mode": None, "notify": ["console"],
     "sources": [], "tags": []},
    sort_keys=True,
)  # fmt: skip


def rule_rows(count: int, seed: int = 0, edited: int = 0) -> list[RuleSpec]:
    """``count`` alerts, as rows; the first ``edited`` get another query."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        words = rng.sample(WORDS, 2)
        query = f"{words[0]} {words[1]} w{i}" + (" OR edited" if i < edited else "")
        rows.append(RuleSpec(f"a{i}", query, _SPEC))
    return rows


def config_text(sources: int, alerts: int, seed: int = 0) -> str:
    """A sources.yaml with ``sources`` feeds on 5,000 sites and ``alerts`` alerts (one in
    ten limited to one source)."""
    rng = random.Random(seed)
    out = ["channels:", "  console: {type: log}", "sources:"]
    out += [
        f"  - {{name: src{i}, url: 'https://site{i % 5000}.example/feed{i}.xml', "
        f"interval: 10m, tags: [t{i % 7}]}}"
        for i in range(sources)
    ]
    out.append("alerts:")
    for i in range(alerts):
        query = " ".join(rng.sample(WORDS, 2)) + f" w{i}"
        only = f", sources: [src{i % sources}]" if sources and i % 10 == 0 else ""
        out.append(f"  - {{name: a{i}, query: '{query}', notify: [console]{only}}}")
    return "\n".join(out) + "\n"


def config_load(url: str, sources: int, alerts: int) -> dict[str, float]:
    """Seconds taken by each step of loading and syncing a generated config."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sources.yaml"
        path.write_text(config_text(sources, alerts), encoding="utf-8")
        t0 = time.perf_counter()
        config = load_config(path, env={})
    t1 = time.perf_counter()
    Rules.from_config(config)
    t2 = time.perf_counter()
    store = Store(url)
    specs = [
        SourceSpec(s.name, s.url, s.kind, int(s.interval.total_seconds()), s.enabled)
        for s in config.sources
    ]
    now = datetime.now(UTC)
    t3 = time.perf_counter()
    store.sync_sources(specs, now)
    t4 = time.perf_counter()
    sync_rules(store, config)
    t5 = time.perf_counter()
    store.sync_sources(specs, now)
    sync_rules(store, config)
    t6 = time.perf_counter()
    store.close()
    return {
        "load_config_s": round(t1 - t0, 2),
        "rules_from_config_s": round(t2 - t1, 2),
        "sync_sources_s": round(t4 - t3, 2),
        "sync_rules_s": round(t5 - t4, 2),
        "resync_unchanged_s": round(t6 - t5, 2),
    }


async def _follow(url: str, out: Any, stop: Any) -> None:
    store = Store(url)
    sync = RuleSync(store, every=timedelta(seconds=30))
    await sync.catch_up()
    sync.longest_step = 0.0
    out.put(("ready", sync.version, 0.0, 0.0, 0.0))
    runner = asyncio.create_task(sync.run())
    seen, stall = sync.version, 0.0
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0.005)
        now = time.perf_counter()
        stall = max(stall, now - last - 0.005)
        last = now
        if sync.version != seen:
            seen = sync.version
            out.put(("version", seen, time.time(), sync.longest_step, stall))
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    store.close()


def _follower(url: str, out: Any, stop: Any) -> None:
    asyncio.run(_follow(url, out, stop))


def rule_update(
    url: str, rules: int = 100_000, changed: int = 1000, workers: int = 2
) -> dict[str, float]:
    """Time for ``changed`` edited rules out of ``rules`` to be live on ``workers``."""
    store = Store(url)
    seed = random.randrange(1 << 30)
    store.sync_rules(rule_rows(rules, seed))
    ctx = multiprocessing.get_context("spawn")
    out, stop = ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_follower, args=(url, out, stop)) for _ in range(workers)]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            kind, *_rest = out.get(timeout=600)
            assert kind == "ready"
        started = time.time()
        version = store.sync_rules(rule_rows(rules, seed, edited=changed))
        live, steps, stalls = [], [], []
        while len(live) < workers:
            kind, seen, at, step, stall = out.get(timeout=120)
            if kind == "version" and seen >= version:
                live.append(at)
                steps.append(step)
                stalls.append(stall)
    finally:
        stop.set()
        for p in procs:
            p.join(timeout=60)
        store.close()
    return {
        "rule_update_s": round(max(live) - started, 3),
        "max_step_ms": round(max(steps) * 1000, 1),
        "max_stall_ms": round(max(stalls) * 1000, 1),
    }


def rule_update_s(url: str, rules: int = 100_000, changed: int = 1000, workers: int = 2) -> float:
    """Seconds until ``changed`` edited rules out of ``rules`` are live on every worker."""
    return rule_update(url, rules, changed, workers)["rule_update_s"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a PostgreSQL database (default: a throwaway one)")
    parser.add_argument("--rules", type=int, default=100_000)
    parser.add_argument("--changed", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sources", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    def run(url: str) -> dict[str, Any]:
        result: dict[str, Any] = {"rules": args.rules, "changed": args.changed,
                                  "workers": args.workers}  # fmt: skip
        result |= rule_update(url, args.rules, args.changed, args.workers)
        result["config_load"] = {"sources": args.sources, "alerts": args.sources}
        result["config_load"] |= config_load(url, args.sources, args.sources)
        return result

    if args.url:
        open_store(args.url).close()
        result = run(args.url)
    else:
        with scratch_database() as url:
            result = run(url)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
