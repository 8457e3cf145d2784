"""Benchmark: news-monitor's whole poll cycle against a naive sequential loop, same run.

    uv run python bench/pipeline.py [--sources 2000] [--latency 0.05] [--articles 500]
    uv run python bench/pipeline.py --quick        # a smoke run of a few seconds
    uv run python bench/pipeline.py --json         # one JSON object instead of the tables

Local news sites answer every request after ``--latency`` seconds, on ``--hosts``
loopback addresses (127.0.0.1, 127.0.0.2, ...) so that the sources look like many
origins. Two cycles are measured, each for both sides, one side at a time:

(a) ``--sources`` feeds, every one already read once, polled again with conditional
    GETs that the sites answer 304: wall time, CPU per response, peak memory;
(b) the whole flow on ``--articles`` new articles, ``--per-feed`` to a feed, the pages
    taken from the extraction corpus: fetch, extract, dedupe, store, match; articles/s.

Ours is ``Daemon.run_once`` on a generated sources.yaml (SQLite, a log channel);
the naive loop is httpx + feedparser + trafilatura + sqlite3 (``_pipeline_sides``).
Each side runs in a child process of its own, so CPU time and peak RSS are its own;
the sites run in a thread of this process. Cycle (b) is skipped, saying so, when the
corpus (``--corpus``, else ``$MONITOR_SHARED/corpus/extraction/aeb``, else
``../shared/corpus/extraction/aeb`` from the repository root) is absent.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import queue
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _pipeline_server import MAX_HOSTS, Sites, Stats, load_pages
from _pipeline_sides import Figures, Plan, child_main
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
SIDES = ("ours", "naive")
# Plain words, every one required, so the naive loop's test means what ours does.
RULES = (
    ("trump", "president trump"),
    ("police", "police"),
    ("apple", "apple"),
    ("amazon", "amazon"),
    ("court", "court"),
    ("election", "election"),
    ("china-market", "china market"),
    ("health-study", "health study"),
    ("energy", "energy"),
    ("team-season", "team season"),
)
READY_TIMEOUT = 300.0  # seconds for a child to import its libraries and set up


class BenchError(RuntimeError):
    """A side crashed or the run could not be set up."""


@dataclass(frozen=True)
class Cycle:
    """One side's cycle: its own figures and what the sites saw meanwhile."""

    figures: Figures
    responses: int
    connections: int
    not_modified: int
    last_progress: float


def default_corpus() -> Path:
    shared = os.environ.get("MONITOR_SHARED")
    base = Path(shared) if shared else ROOT.parent / "shared"
    return base / "corpus" / "extraction" / "aeb"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sources", type=int, default=2000, help="feeds of the 304 cycle")
    p.add_argument("--latency", type=float, default=0.05, help="seconds before each answer")
    p.add_argument("--articles", type=int, default=500, help="new articles of cycle (b)")
    p.add_argument("--per-feed", type=int, default=5, help="new articles in each feed of (b)")
    p.add_argument("--hosts", type=int, default=100, help=f"origins, 1 to {MAX_HOSTS}")
    p.add_argument("--concurrency", type=int, default=64, help="ours: max_concurrency")
    p.add_argument("--per-host", type=int, default=2, help="ours: per_host_concurrency")
    p.add_argument("--corpus", type=Path, default=None, help="extraction corpus folder")
    p.add_argument(
        "--naive-per-call",
        action="store_true",
        help="naive loop calls httpx.get (a new client and connection per request) "
        "instead of sharing one httpx.Client",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object of the figures")
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 40 sources, 4 hosts, 10 ms latency, 10 articles",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.sources, args.hosts, args.latency, args.articles = 40, 4, 0.01, 10
    if not 1 <= args.hosts <= MAX_HOSTS:
        p.error(f"--hosts must be between 1 and {MAX_HOSTS}")
    if args.sources < 1 or args.articles < 0 or args.per_feed < 1 or args.latency < 0:
        p.error("--sources and --per-feed must be positive, --articles and --latency not negative")
    return args


# -- running the children ---------------------------------------------------------------


@dataclass
class Child:
    name: str
    process: BaseProcess
    inbox: Queue[str]
    outbox: Queue[tuple[str, Any]]

    def receive(self, sites: Sites, bar: tqdm[Any] | None, timeout: float) -> Any:
        """The child's next message, updating ``bar`` from the sites' counters meanwhile."""
        waited = 0.0
        while True:
            try:
                kind, payload = self.outbox.get(timeout=0.1)
            except queue.Empty:
                waited += 0.1
                if not self.process.is_alive():
                    raise BenchError(f"{self.name}: exited with {self.process.exitcode}") from None
                if waited > timeout:
                    raise BenchError(f"{self.name}: no answer in {timeout:g}s") from None
                if bar is not None:
                    bar.update(sites.stats.progress - bar.n)
                continue
            if bar is not None:
                bar.update(sites.stats.progress - bar.n)
            if kind == "error":
                raise BenchError(f"{self.name} failed:\n{payload}")
            return payload


def start_children(plan: Plan) -> dict[str, Child]:
    # spawn, not fork: each side starts from a clean interpreter holding only its own
    # libraries, and the sites' thread in this process is not duplicated.
    context = multiprocessing.get_context("spawn")
    children = {}
    for name in SIDES:
        inbox: Queue[str] = context.Queue()
        outbox: Queue[tuple[str, Any]] = context.Queue()
        process = context.Process(
            target=child_main, args=(name, plan, inbox, outbox), name=f"bench-{name}"
        )
        process.start()
        children[name] = Child(name, process, inbox, outbox)
    return children


def stop_children(children: dict[str, Child]) -> None:
    for child in children.values():
        if child.process.is_alive():
            child.inbox.put("stop")
    for child in children.values():
        child.process.join(timeout=30)
        if child.process.is_alive():
            child.process.terminate()
            child.process.join()


def run_cycle(child: Child, sites: Sites, phase: str, latency: float, expected: int) -> Cycle:
    sites.reset(latency)
    label = {"prime": "priming", "a": "(a) 304 cycle", "b": "(b) whole flow"}[phase]
    with tqdm(total=expected, desc=f"{label}: {child.name}", unit="resp", file=sys.stderr) as bar:
        child.inbox.put(phase)
        figures: Figures = child.receive(sites, bar, timeout=math.inf)
    stats: Stats = sites.stats
    return Cycle(
        figures, stats.responses, stats.connections, stats.not_modified, stats.last_progress
    )


def run_all(args: argparse.Namespace, pages: Sequence[bytes]) -> dict[str, dict[str, Cycle]]:
    feeds_b = math.ceil(args.articles / args.per_feed) if pages else 0
    results: dict[str, dict[str, Cycle]] = {"prime": {}, "a": {}, "b": {}}
    with (
        tempfile.TemporaryDirectory(prefix="bench-pipeline-") as workdir,
        Sites(args.hosts, pages, args.per_feed) as sites,
    ):
        plan = Plan(
            workdir=workdir,
            origins=tuple(sites.origins),
            sources=args.sources,
            feeds_b=feeds_b,
            concurrency=args.concurrency,
            per_host=args.per_host,
            rules=RULES,
            naive_per_call=args.naive_per_call,
        )
        children = start_children(plan)
        try:
            for child in children.values():
                child.receive(sites, None, READY_TIMEOUT)
            phases = [("prime", 0.0, args.sources), ("a", args.latency, args.sources)]
            if feeds_b:
                phases.append(("b", args.latency, feeds_b * (1 + args.per_feed)))
            for phase, latency, expected in phases:
                for name in SIDES:
                    results[phase][name] = run_cycle(
                        children[name], sites, phase, latency, expected
                    )
        finally:
            stop_children(children)
    return results


# -- the report -------------------------------------------------------------------------


def _row(label: str, ours: float, naive: float, digits: int = 3) -> str:
    # A peer figure that prints as zero has no meaningful ratio.
    ratio = f"{ours / naive:.3f}" if round(naive, digits) else "n/a"
    return f"  {label:<28}{ours:>12.{digits}f}{naive:>12.{digits}f}{ratio:>12}"


def _text_row(label: str, *values: object) -> str:
    return f"  {label:<28}" + "".join(f"{v!s:>12}" for v in values)


def _figures_rows(cycles: dict[str, Cycle]) -> list[str]:
    o, n = cycles["ours"], cycles["naive"]
    return [
        _text_row("", "ours", "naive", "ours/naive"),
        _row("wall time (s)", o.figures.wall, n.figures.wall),
        _row("CPU per response (ms)", per_response_ms(o), per_response_ms(n)),
        _row("peak RSS (MiB)", o.figures.peak_mib, n.figures.peak_mib, 1),
        _row("RSS growth in cycle (MiB)", o.figures.growth_mib, n.figures.growth_mib, 1),
        _row("CPU, with children (s)", o.figures.cpu, n.figures.cpu),
        _row("of which children (s)", o.figures.children_cpu, n.figures.children_cpu),
        _row(
            "largest child's peak (MiB)",
            o.figures.children_peak_mib,
            n.figures.children_peak_mib,
            1,
        ),
        _text_row("responses", o.responses, n.responses),
        _text_row("TCP connections opened", o.connections, n.connections),
    ]


def per_response_ms(cycle: Cycle) -> float:
    return 1000 * cycle.figures.cpu / cycle.responses if cycle.responses else 0.0


def report(args: argparse.Namespace, results: dict[str, dict[str, Cycle]], corpus: Path) -> str:
    a = results["a"]
    out = [
        f"pipeline benchmark: {args.sources} sources on {args.hosts} origins, "
        f"{args.latency * 1000:g} ms latency per response; ours: max_concurrency "
        f"{args.concurrency}, per_host_concurrency {args.per_host}, min_delay 0s; naive: "
        + ("httpx.get per request" if args.naive_per_call else "one httpx.Client"),
        "",
        f"(a) a cycle of {args.sources} conditional GETs answered 304",
        *_figures_rows(a),
        _text_row("304 answers", *(f"{a[s].not_modified}/{args.sources}" for s in SIDES)),
        _text_row("failed feeds", *(a[s].figures.failed for s in SIDES)),
    ]
    b = results["b"]
    if not b:
        why = "--articles 0" if not args.articles else f"no extraction corpus at {corpus}"
        out += ["", f"(b) skipped: {why}"]
    else:
        o, n = b["ours"], b["naive"]
        articles = math.ceil(args.articles / args.per_feed) * args.per_feed
        tail = max(0.0, o.figures.end - o.last_progress)
        out += [
            "",
            f"(b) the whole flow on {articles} new articles ({args.per_feed} per feed, "
            f"{articles // args.per_feed} feeds; fetch, extract, dedupe, store, match)",
            *_figures_rows(b),
            _row("articles/s", articles / o.figures.wall, articles / n.figures.wall, 1),
            _text_row("articles stored", o.figures.stored, n.figures.stored),
            _text_row("alerts (ours) / matches", o.figures.alerts, n.figures.alerts),
            _text_row("failed feeds", o.figures.failed, n.figures.failed),
            f"  ours spent {tail:.3f} s after the last article was served "
            "(delivery to the log channel, teardown)",
        ]
    method = a["ours"].figures.peak_method
    out += [
        "",
        f"peak RSS: {method}; CPU: time.process_time() of each side's process plus "
        "what its child processes (ours: the page workers) used, from RUSAGE_CHILDREN",
    ]
    return "\n".join(out)


def _side_json(cycle: Cycle) -> dict[str, Any]:
    f = cycle.figures
    return {
        "wall_s": round(f.wall, 4),
        "cpu_s": round(f.cpu, 4),
        "children_cpu_s": round(f.children_cpu, 4),
        "children_peak_rss_mib": round(f.children_peak_mib, 1),
        "cpu_per_response_ms": round(per_response_ms(cycle), 4),
        "peak_rss_mib": round(f.peak_mib, 1),
        "rss_growth_mib": round(f.growth_mib, 1),
        "responses": cycle.responses,
        "tcp_connections": cycle.connections,  # accepted, counted by the sites
        "not_modified": cycle.not_modified,
        "failed_feeds": f.failed,
        "stored": f.stored,
        "alerts": f.alerts,
    }


def _ratio(ours: float, naive: float) -> float | None:
    return round(ours / naive, 4) if naive else None


def as_json(
    args: argparse.Namespace, results: dict[str, dict[str, Cycle]], load: dict[str, Any]
) -> dict[str, Any]:
    """The figures as one object: per cycle and side, the ratios, the run's setup."""
    a = results["a"]
    out: dict[str, Any] = {
        "sources": args.sources, "hosts": args.hosts, "latency_s": args.latency,
        "concurrency": args.concurrency, "per_host": args.per_host,
        "naive_client": "httpx.get per request" if args.naive_per_call else "one httpx.Client",
        "load_average": load, "peak_rss_method": a["ours"].figures.peak_method,
        "a": {side: _side_json(a[side]) for side in SIDES},
    }  # fmt: skip
    out["a"]["cpu_per_response_ratio"] = _ratio(
        per_response_ms(a["ours"]), per_response_ms(a["naive"])
    )
    out["a"]["ours_connections_per_origin"] = round(a["ours"].connections / args.hosts, 3)
    b = results["b"]
    if b:
        articles = math.ceil(args.articles / args.per_feed) * args.per_feed
        out["b"] = {side: _side_json(b[side]) for side in SIDES}
        for side in SIDES:
            out["b"][side]["articles_per_s"] = round(articles / b[side].figures.wall, 2)
        out["b"]["articles"] = articles
        out["b"]["articles_per_s_ratio"] = _ratio(
            out["b"]["ours"]["articles_per_s"], out["b"]["naive"]["articles_per_s"]
        )
    else:
        out["b"] = None
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    corpus = args.corpus or default_corpus()
    pages = load_pages(corpus) if args.articles and (corpus / "html").is_dir() else []
    load = {"start": os.getloadavg()[0]}
    try:
        results = run_all(args, pages)
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    load["end"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(as_json(args, results, load), indent=2))
    else:
        print(report(args, results, corpus))
        print(f"load average (1 min): {load['start']:.2f} at start, {load['end']:.2f} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
