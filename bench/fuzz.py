"""Fuzz the stages that read untrusted input: pages, listing pages, feeds and queries.

Seeds are real pages (the extraction corpus, when ``--corpus`` exists, and the test
fixtures), the fixture feeds and a set of queries in the rule language. Each input is a
seed mutated a few times (bytes flipped, cut, duplicated, spliced with another seed, or
hostile constructs inserted: deep nesting, malformed URLs, NUL bytes, entity tricks,
long NEAR chains) and goes to ``extract_article``, ``extract_links``, ``parse_feed`` or
``parse_query`` followed by ``Query.match`` on a seed page's text.

What counts: exceptions outside the project's error tree (``MonitorError``), which
must be 0, and inputs that took over ``--slow`` seconds (2 s), which must be 0 too.

    uv run python bench/fuzz.py [--count 100000] [--seed 1] [--corpus ../shared/corpus/extraction]
                                [--slow 2.0] [--json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from monitor.errors import MonitorError
from monitor.extract import extract_article, extract_links
from monitor.feeds import parse_feed
from monitor.rules import parse_query

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "extraction"
URL = "https://news.example.org/2024/05/une-histoire-de-budget"

HOSTILE_HTML = [
    b"<span>" * 1000,
    b"<table><tr><td>" * 3000,
    b"<div>" * 2000 + b"<p>" + b"mot, " * 50,
    b'<link rel=canonical href="http://[zz">',
    b'<base href="http://[zz">',
    b'<a href="http://[zz/2024/05/un-lien-casse-123456">Un lien cass\xc3\xa9 de la page</a>',
    b'<a href="http://example.org:99999/a-b-c-d-e">a b c d e f</a>',
    b'<meta property="og:url" content="//[::1">',
    b'<script type="application/ld+json">' + b"[" * 5000 + b"]" * 5000 + b"</script>",
    b'<script type="application/ld+json">{"@graph": ' + b"[" * 900 + b"]" * 900 + b"}</script>",
    b"\x00\x00\xff\xfe",
    b"<b><i>" * 500 + b"</b>" * 500,
    b"<select><option>" * 500,
    b"<svg><foreignObject><math>" * 300,
    b"<p>" + b"\xe2\x80\x8b" * 5000 + b"</p>",
    b"<br>" * 5000,
]
HOSTILE_XML = [
    b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>',
    b"<item>" * 3000,
    b"<![CDATA[" + b"x" * 1000,
    b'<link href="http://[zz"/>',
    b"<link>http://[zz</link>",
    b"&#0;&#xD800;",
    b"<pubDate>99999999999999</pubDate>",
    b'<?xml version="1.0" encoding="utf-32"?>',
    b"<content:encoded><![CDATA[" + b"<span>" * 1000 + b"]]></content:encoded>",
]
QUERIES = [
    "Amazon IA licenciements",
    "Amazon NEAR/5 IA NEAR/5 licenciements",
    '"lettre ouverte" NEAR/3 Amazon*',
    "(IA OR AI) NEAR/5 (licenciements OR layoffs)",
    "-(Amazon NEAR/2 grève) Amazon",
    "title:Amazon body:(IA OR robot*)",
    "site:lemonde.fr lang:fr tag:tech url:/economie/ source:qdn-*",
    "Amazon ONEAR/3 Web NEAR/2 Services",
    "aujourd'hui l'IA « intelligence artificielle »",
    "NOT spam Amazon AND (budget OR ville)",
]
QUERY_PIECES = [
    "NEAR/3", "ONEAR/1", "NEAR/1000", "NEAR/x", "OR", "AND", "NOT", "-", "(", ")", '"', "«",
    "»", "title:", "body:", "site:", "lang:", "url:", "tag:", "*", "Amazon", "IA", "l'IA",
    "a*", "\x00", "\u202e", "ﬁ", "İ", "ß", "budget", "ville",
]  # fmt: skip


@dataclass
class Tally:
    """What the run saw, per target."""

    inputs: Counter[str] = field(default_factory=Counter)
    crashes: Counter[str] = field(default_factory=Counter)
    slow: Counter[str] = field(default_factory=Counter)
    expected: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    slowest: float = 0.0


def _read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def load_seeds(corpus: Path | None, limit: int = 300) -> tuple[list[bytes], list[bytes]]:
    """Pages (the corpus, capped at ``limit`` files, then the fixtures) and feeds."""
    pages: list[bytes] = []
    if corpus is not None and corpus.is_dir():
        files = sorted(p for p in corpus.rglob("*") if p.suffix in (".html", ".gz", ".htm"))
        pages += [_read(p) for p in files[:limit]]
    pages += [_read(p) for p in sorted(FIXTURES.rglob("*.html"))]
    feeds = [_read(p) for p in sorted(FIXTURES.rglob("*")) if p.suffix in (".xml", ".rdf")]
    return pages, feeds


def _mutate(data: bytes, rng: random.Random, others: list[bytes], hostile: list[bytes]) -> bytes:
    for _ in range(rng.randint(1, 4)):
        n = len(data)
        at = rng.randint(0, n)
        op = rng.randrange(7)
        if op == 0 and n:  # flip bytes
            buf = bytearray(data)
            for _ in range(rng.randint(1, 16)):
                buf[rng.randrange(n)] = rng.randrange(256)
            data = bytes(buf)
        elif op == 1:  # cut a stretch
            data = data[:at] + data[at + rng.randint(1, 2000) :]
        elif op == 2:  # repeat a stretch
            piece = data[at : at + rng.randint(1, 200)]
            data = data[:at] + piece * rng.randint(2, 50) + data[at:]
        elif op == 3 and others:  # splice another seed in
            other = rng.choice(others)
            start = rng.randint(0, len(other))
            data = data[:at] + other[start : start + rng.randint(1, 5000)] + data[at:]
        elif op == 4:  # truncate
            data = data[:at]
        else:  # a hostile construct, where tags are
            data = data[:at] + rng.choice(hostile) + data[at:]
    return data


def _query(rng: random.Random) -> str:
    kind = rng.randrange(7)
    if kind >= 5:  # a valid query, so that matching gets its share
        extra = ["Amazon", "IA", "l'IA", "budget", "ville", "conseil*", '"la ville"']
        words = " ".join(rng.choice(extra) for _ in range(rng.randint(0, 3)))
        return f"{rng.choice(QUERIES)} {words}".strip()
    if kind == 0:  # a long proximity chain
        n = rng.choice([3, 10, 16, 17, 100, 1000])
        op = rng.choice(["NEAR", "ONEAR"])
        return f" {op}/{rng.randint(0, 30)} ".join(rng.choice(QUERY_PIECES[20:]) for _ in range(n))
    if kind == 1:  # deep nesting
        depth = rng.choice([10, 33, 100, 2000])
        return rng.choice(["(", "NOT ", "-", "title:("]) * depth + "Amazon" + ")" * depth
    text = rng.choice(QUERIES)
    pieces = text.split()
    for _ in range(rng.randint(1, 6)):
        pieces.insert(rng.randint(0, len(pieces)), rng.choice(QUERY_PIECES))
    joined = " ".join(pieces) if kind < 4 else "".join(pieces)
    return joined[: rng.randint(1, len(joined))] if rng.random() < 0.2 else joined


def _text_of(page: bytes) -> str:
    return page.decode("utf-8", "replace")


def run(
    count: int,
    seed: int,
    corpus: Path | None,
    slow: float = 2.0,
    progress: Callable[[int], None] | None = None,
) -> Tally:
    """Fuzz ``count`` inputs; the tally of what happened."""
    rng = random.Random(seed)
    pages, feeds = load_seeds(corpus)
    texts = [extract_article(p, URL).text for p in pages[-20:]] or ["Amazon IA licenciements"]
    tally = Tally()
    for i in range(count):
        target = ("article", "links", "feed", "query")[i % 4]
        if target == "feed":
            data = _mutate(rng.choice(feeds), rng, feeds + pages[:5], HOSTILE_XML)
            call: Callable[[], object] = lambda d=data: parse_feed(d, URL)  # noqa: E731
            sample = data[:200].decode("latin-1")
        elif target == "query":
            q, text = _query(rng), rng.choice(texts)
            call = lambda q=q, t=text: parse_query(q).match("", t, "fr")  # noqa: E731
            sample = q[:200]
        else:
            data = _mutate(rng.choice(pages), rng, pages, HOSTILE_HTML)
            func = extract_article if target == "article" else extract_links
            call = lambda d=data, f=func: f(d, URL)  # noqa: E731
            sample = data[:200].decode("latin-1")
        tally.inputs[target] += 1
        started = time.perf_counter()
        try:
            call()
        except MonitorError:
            tally.expected[target] += 1
        except Exception as exc:  # what the fuzzer is here to find
            tally.crashes[f"{target}: {type(exc).__name__}"] += 1
            if len(tally.examples) < 10:
                tb = traceback.format_exc().strip().splitlines()[-3:]
                tally.examples.append(f"{target} {sample!r}: {' | '.join(tb)}")
        took = time.perf_counter() - started
        tally.slowest = max(tally.slowest, took)
        if took > slow:
            tally.slow[target] += 1
            if len(tally.examples) < 10:
                tally.examples.append(f"{target} took {took:.1f} s: {sample!r}")
        if progress is not None and i % 1000 == 999:
            progress(i + 1)
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--slow", type=float, default=2.0, help="seconds that count as slow")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    corpus = args.corpus if args.corpus.is_dir() else None
    if corpus is None:
        print(f"corpus {args.corpus} not found: fixtures only", file=sys.stderr)
    tick = None if args.json or not sys.stderr.isatty() else _tick
    tally = run(args.count, args.seed, corpus, args.slow, tick)
    result = {
        "inputs": sum(tally.inputs.values()),
        "by_target": dict(tally.inputs),
        "outside_error_tree": sum(tally.crashes.values()),
        "crashes": dict(tally.crashes),
        "over_slow": sum(tally.slow.values()),
        "slow": dict(tally.slow),
        "monitor_errors": dict(tally.expected),
        "slowest_seconds": round(tally.slowest, 3),
        "seconds": round(time.perf_counter() - started, 1),
        "seed": args.seed,
        "corpus": str(corpus) if corpus else None,
        "examples": tally.examples,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0 if not result["outside_error_tree"] and not result["over_slow"] else 1


def _tick(done: int) -> None:
    print(f"\r{done} inputs", end="", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
