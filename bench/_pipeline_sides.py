"""The two sides of the pipeline benchmark, each run in a child process of its own.

``Ours`` drives news-monitor through its real path: a sources.yaml written for the
run, ``load_config`` and ``Daemon.run_once`` (fetch, feed parsing, dedupe keys,
article fetch and extraction, rule matching, store, outbox, delivery to a log
channel). ``Naive`` is the loop many people write first: for each feed in turn,
httpx with If-None-Match, feedparser, then for each unseen entry httpx, trafilatura,
an sqlite3 insert and a keyword test.

A child imports its side's libraries, reports ready, then runs the cycles the parent
asks for one at a time, measuring each: wall time, process CPU time (every thread),
and peak RSS, whose high-water mark is reset before the cycle so earlier cycles do not
count. Alerts both sides print go to /dev/null.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import re
import resource
import sqlite3
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any, Protocol

# Phases, in the order the parent runs them: "prime" reads every 304-cycle feed once
# (no latency) so the conditional GETs of "a" have validators; "b" is the whole flow.
PHASES = ("prime", "a", "b")


@dataclass(frozen=True)
class Plan:
    """What both children need to know; picklable, sent at spawn."""

    workdir: str
    origins: tuple[str, ...]
    sources: int  # feeds of the 304 cycle
    feeds_b: int  # feeds of the whole-flow cycle
    concurrency: int
    per_host: int
    rules: tuple[tuple[str, str], ...]  # (name, query): plain words, all required
    naive_per_call: bool  # httpx.get per request instead of one httpx.Client

    def feed_urls(self, phase: str) -> list[str]:
        kind, count = ("b", self.feeds_b) if phase == "b" else ("a", self.sources)
        return [f"{self.origins[i % len(self.origins)]}/{kind}/{i}.xml" for i in range(count)]


@dataclass(frozen=True)
class Figures:
    """One side's measurements of one cycle."""

    wall: float  # seconds
    cpu: float  # CPU seconds: the process (all threads) and its children (page workers)
    children_cpu: float  # of which its child processes, reaped by the cycle's end
    children_peak_mib: float  # RSS high-water mark of its largest child (0: none)
    peak_mib: float  # RSS high-water mark during the cycle
    growth_mib: float  # that peak minus the RSS when the cycle started
    peak_method: str  # "VmHWM reset per cycle", or "ru_maxrss (whole process)"
    end: float  # time.perf_counter() when the cycle returned (CLOCK_MONOTONIC)
    alerts: int  # alerts created (ours) or rule matches (naive)
    failed: int  # feeds that failed
    stored: int  # articles in the side's database after the cycle


class Side(Protocol):
    def run(self, phase: str) -> tuple[int, int]:
        """Run one cycle; return (alerts or matches, failed feeds)."""
        ...

    def stored(self, phase: str) -> int: ...


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset the RSS high-water mark (Linux >= 4.0); False where that is impossible."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
    except OSError:
        return False
    return _status_kib("VmHWM") is not None


def measure(side: Side, phase: str) -> Figures:
    gc.collect()
    resettable = _reset_peak()
    start_rss = _status_kib("VmRSS") or 0
    cpu0 = time.process_time()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    alerts, failed = side.run(phase)
    end = time.perf_counter()
    cpu = time.process_time() - cpu0
    # Ours reads pages in child processes (extract_processes), which run_once stops
    # and reaps before it returns: their CPU counts as the side's own.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    children_cpu = (children.ru_utime - children0.ru_utime) + (
        children.ru_stime - children0.ru_stime
    )
    if resettable:
        peak, method = _status_kib("VmHWM") or 0, "VmHWM reset per cycle"
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        method = "ru_maxrss (whole process)"
    return Figures(
        wall=end - t0,
        cpu=cpu + children_cpu,
        children_cpu=children_cpu,
        children_peak_mib=children.ru_maxrss / 1024 if children_cpu else 0.0,
        peak_mib=peak / 1024,
        growth_mib=max(0, peak - start_rss) / 1024,
        peak_method=method,
        end=end,
        alerts=alerts,
        failed=failed,
        stored=side.stored(phase),
    )


# -- ours -------------------------------------------------------------------------------


def _yaml_config(plan: Plan, database: Path, urls: Sequence[str], prefix: str) -> str:
    # JSON strings are valid YAML scalars, so every value is quoted safely.
    lines = [
        f"database: {json.dumps(f'sqlite:///{database}')}",
        "allow_private_networks: true  # the benchmark's sites live on 127.0.0.x",
        f"max_concurrency: {plan.concurrency}",
        f"fetch: {{min_delay: 0s, per_host_concurrency: {plan.per_host}}}",
        "sources:" if urls else "sources: []",
        *(f"  - {{name: {prefix}-{i}, url: {json.dumps(u)}}}" for i, u in enumerate(urls)),
        "alerts:",
        *(
            f"  - {{name: {name}, query: {json.dumps(q)}, notify: [console], max_age: none}}"
            for name, q in plan.rules
        ),
        "channels:",
        "  console: {type: log}",
    ]
    return "\n".join(lines) + "\n"


class Ours:
    """news-monitor's daemon, one ``run_once`` per cycle, on a SQLite file."""

    def __init__(self, plan: Plan) -> None:
        from monitor.config import Config, load_config
        from monitor.observe import setup_logging
        from monitor.scheduler import Daemon
        from monitor.store import open_store

        # As `monitor run` does by default: a key=value line per poll at INFO, here
        # written to /dev/null, so the cycle pays for its logs as a daemon would.
        setup_logging("kv", "INFO", stream=sys.stdout)
        self._daemon = Daemon
        self._configs: dict[str, tuple[Path, Config]] = {}
        for kind in ("a", "b"):
            folder = Path(plan.workdir)
            path = folder / f"ours-{kind}.yaml"
            urls = plan.feed_urls(kind)
            path.write_text(_yaml_config(plan, folder / f"ours-{kind}.db", urls, kind))
            # env={}: a MONITOR_DATABASE_URL of the user's must not point the run elsewhere.
            self._configs[kind] = (path, load_config(path, env={}))
        # The schema is created now, so the cycles do not pay for the first migration.
        for _, config in self._configs.values():
            open_store(config.database).close()

    def _kind(self, phase: str) -> str:
        return "b" if phase == "b" else "a"

    def run(self, phase: str) -> tuple[int, int]:
        path, config = self._configs[self._kind(phase)]
        results = asyncio.run(self._daemon(path, config).run_once())
        return sum(r.alerts for r in results), sum(not r.ok for r in results)

    def stored(self, phase: str) -> int:
        from monitor.store import Store

        store = Store(self._configs[self._kind(phase)][1].database)
        try:
            return store.count_articles()
        finally:
            store.close()


# -- naive ------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


class Naive:
    """A sequential loop over the feeds: httpx, feedparser, trafilatura, sqlite3."""

    def __init__(self, plan: Plan) -> None:
        import feedparser
        import httpx
        import trafilatura

        self._plan = plan
        self._httpx: Any = httpx
        self._feedparser: Any = feedparser
        self._trafilatura: Any = trafilatura
        self._rules = [(name, query.lower().split()) for name, query in plan.rules]
        for kind in ("a", "b"):
            with sqlite3.connect(self._db(kind)) as db:
                db.execute("CREATE TABLE IF NOT EXISTS feeds (url TEXT PRIMARY KEY, etag TEXT)")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS articles (url TEXT PRIMARY KEY, feed TEXT, "
                    "title TEXT, body TEXT, seen REAL)"
                )
            db.close()

    def _db(self, phase: str) -> Path:
        return Path(self._plan.workdir) / f"naive-{'b' if phase == 'b' else 'a'}.db"

    def run(self, phase: str) -> tuple[int, int]:
        db = sqlite3.connect(self._db(phase))
        client = None if self._plan.naive_per_call else self._httpx.Client(timeout=30)
        get: Callable[..., Any] = self._httpx.get if client is None else client.get
        matches = failed = 0
        try:
            for url in self._plan.feed_urls(phase):
                try:
                    matches += self._poll(db, get, url)
                except Exception:  # a naive loop still survives one bad feed
                    failed += 1
        finally:
            if client is not None:
                client.close()
            db.close()
        return matches, failed

    def _poll(self, db: sqlite3.Connection, get: Callable[..., Any], url: str) -> int:
        row = db.execute("SELECT etag FROM feeds WHERE url = ?", (url,)).fetchone()
        headers = {"If-None-Match": row[0]} if row and row[0] else {}
        response = get(url, headers=headers, timeout=30)
        if response.status_code == 304:
            return 0
        response.raise_for_status()
        feed = self._feedparser.parse(response.content)
        matches = 0
        for entry in feed.entries:
            link = entry.get("link")
            if not link or db.execute("SELECT 1 FROM articles WHERE url = ?", (link,)).fetchone():
                continue
            page = get(link, timeout=30)
            page.raise_for_status()
            body = self._trafilatura.extract(page.content) or entry.get("summary", "")
            title = entry.get("title", "")
            db.execute(
                "INSERT INTO articles VALUES (?, ?, ?, ?, ?)", (link, url, title, body, time.time())
            )
            db.commit()
            words = set(_WORD.findall(f"{title}\n{body}".lower()))
            for name, terms in self._rules:
                if all(t in words for t in terms):
                    print(f"[{name}] {title} {link}")
                    matches += 1
        db.execute(
            "INSERT OR REPLACE INTO feeds VALUES (?, ?)", (url, response.headers.get("etag"))
        )
        db.commit()
        return matches

    def stored(self, phase: str) -> int:
        with sqlite3.connect(self._db(phase)) as db:
            count = int(db.execute("SELECT count(*) FROM articles").fetchone()[0])
        db.close()
        return count


# -- the child process ------------------------------------------------------------------


def child_main(side: str, plan: Plan, inbox: Queue[str], outbox: Queue[tuple[str, Any]]) -> None:
    """Entry point of a child: set up, report ready, run the cycles asked for."""
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as we do
    try:
        runner: Side = Ours(plan) if side == "ours" else Naive(plan)
    except BaseException:
        outbox.put(("error", traceback.format_exc()))
        return
    outbox.put(("ready", None))
    while (phase := inbox.get()) != "stop":
        try:
            outbox.put(("done", measure(runner, phase)))
        except BaseException:
            outbox.put(("error", traceback.format_exc()))
