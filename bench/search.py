"""Benchmark: archive search on the database's index against today's scan.

Generates (deterministically, from --seed) French and English articles with the
vocabulary of bench/rules.py (Zipf-distributed names and topical words, a long tail of
pseudo-words), of brief length: a title and a body of 40 to 120 words. They are
written to a temporary SQLite file and to a fresh PostgreSQL database (created, then
dropped) by a bulk equivalent of ``Store.insert_article``: the same rows, with the
keys of ``monitor.rules.article_keys``, in batches (PostgreSQL: COPY, the GIN index
built once at the end; SQLite: one transaction per batch, the FTS5 triggers on).

Then, on each database, for ``--queries`` queries of the query language (words, OR
groups, phrases, NOT, prefixes, NEAR, title:/body:/site:/lang:/tag: fields):

- ``p50_ms``/``p95_ms``: the time ``monitor search`` takes to have its first page, the
  20 most recently stored matches (or every match, when there are fewer), through
  ``Store.search_candidates`` and the matcher;
- on a ``--subset`` of 20,000 articles (its own database), ``scan_p95_ms``: today's scan
  (every article read and matched), ``indexed_subset_p95_ms``: every match found through
  the index, and ``identical_on_subset``: both found the same articles, for every query;
- ``index_mib``: the index on disk (FTS5 shadow tables, GIN index), ``keys_mib``: the
  ``search_keys``/``title_keys`` columns it is built from (and, on PostgreSQL, the
  stored ``search_tsv`` column);
- ``insert_overhead_ms``: per article, ``Store.insert_article`` with the keys computed
  and indexed, minus the same without keys.

    uv run python bench/search.py [--json] [--articles 1000000] [--queries 60]

Progress bars go to stderr; with --json, stdout holds exactly one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rules import SITES, TAGS, Corpus, make_rule, sentence

from monitor.config import Config, SourceConfig
from monitor.pipeline import match_stored, scan_stored
from monitor.rules import Document, article_keys, parse_query
from monitor.store import NewArticle, Store

PG_ADMIN = os.environ.get(
    "MONITOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
PAGE = 20
BATCH = 5000
COLUMNS = (
    "url_key", "url", "canonical_url", "source", "title", "body", "summary", "authors",
    "language", "first_seen", "quality", "search_keys", "title_keys",
)  # fmt: skip


def make_article(corpus: Corpus) -> Document:
    """A brief article: a title and 40 to 120 words of body (bench/rules.py's are 300-700)."""
    rng = corpus.rng
    lang = rng.choice(["fr", "en"])
    names = [corpus.name() for _ in range(rng.randint(2, 5))]
    topics = [corpus.family(lang) for _ in range(rng.randint(2, 3))]
    title = sentence(corpus, lang, topics, names)[:90].rstrip(" .!?")
    body: list[str] = []
    target = rng.randint(40, 120)
    while sum(s.count(" ") + 1 for s in body) < target:
        body.append(sentence(corpus, lang, topics, names))
    site = rng.choice(SITES)
    return Document(
        title=title, text=" ".join(body), language=rng.choice([lang, lang, lang, None]),
        url=f"https://www.{site}/{rng.randint(1, 10**9)}.html", site=site,
        source=site.split(".")[0], tags=tuple(rng.sample(TAGS, 2)),
    )  # fmt: skip


def make_queries(corpus: Corpus, count: int) -> list[str]:
    """bench/rules.py's rule mix (words, OR, phrases, NOT, prefixes, NEAR, fields), plus
    every kind once for sure."""
    fixed = [
        "Amazon", '"intelligence artificielle"', "Amazon OR Google", "licenciements -grève",
        "Kamo*", "title:Amazon lang:fr", "site:lemonde.fr Macron", "Musk NEAR/5 Tesla",
    ]  # fmt: skip
    return fixed + [make_rule(corpus) for _ in range(count - len(fixed))]


def row_of(doc: Document, n: int) -> dict[str, Any]:
    key = hashlib.sha256(f"{n}:{doc.url}".encode()).hexdigest()
    return {
        "url_key": key, "url": doc.url, "canonical_url": doc.url, "source": doc.source,
        "title": doc.title, "body": doc.text, "summary": "", "authors": "",
        "language": doc.language, "first_seen": T0 + timedelta(seconds=n), "quality": "ok",
        "search_keys": article_keys(doc.title, doc.text, doc.language),
        "title_keys": article_keys(doc.title, "", doc.language),
    }  # fmt: skip


def batches(seed: int, total: int, label: str) -> Iterator[list[dict[str, Any]]]:
    corpus = Corpus(random.Random(seed))
    with tqdm(total=total, unit="article", desc=label, file=sys.stderr, disable=None) as bar:
        for start in range(0, total, BATCH):
            rows = [
                row_of(make_article(corpus), n) for n in range(start, min(total, start + BATCH))
            ]
            bar.update(len(rows))
            yield rows


class Loader:
    """Bulk writes to one migrated database, the index kept as the store keeps it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.pg = store.dialect == "postgresql"
        if self.pg:  # one build at the end is far cheaper than 1M GIN updates
            with store.engine.begin() as conn:
                conn.exec_driver_sql("DROP INDEX ix_articles_search_tsv")

    def write(self, rows: list[dict[str, Any]]) -> None:
        if not self.pg:
            table = sa.table("articles", *(sa.column(c) for c in COLUMNS))
            values = [{**r, "first_seen": r["first_seen"].replace(tzinfo=None)} for r in rows]
            with self.store.engine.begin() as conn:
                conn.execute(sa.insert(table), values)
            return
        raw = self.store.engine.raw_connection()
        try:
            cur = raw.cursor()
            with cur.copy(f"COPY articles ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for r in rows:
                    copy.write_row(
                        [r[c] if c != "first_seen" else r[c].replace(tzinfo=None) for c in COLUMNS]
                    )
            raw.commit()
        finally:
            raw.close()

    def finish(self) -> None:
        if self.pg:
            with self.store.engine.begin() as conn:
                conn.exec_driver_sql("SET maintenance_work_mem = '512MB'")
                conn.exec_driver_sql(
                    "CREATE INDEX ix_articles_search_tsv ON articles USING gin (search_tsv)"
                )
                conn.exec_driver_sql("ANALYZE articles")


def first_page(config: Config, store: Store, query: str) -> int:
    found = 0
    for _, match in match_stored(config, store, query, None):
        if match is not None:
            found += 1
            if found == PAGE:
                break
    return found


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    out = fn()
    return (time.perf_counter() - started) * 1000, out


def p95(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def sizes(store: Store) -> tuple[float, float]:
    """(index MiB, keys columns MiB)."""
    with store.engine.connect() as conn:
        if store.dialect == "postgresql":
            index = conn.exec_driver_sql(
                "SELECT pg_relation_size('ix_articles_search_tsv')"
            ).scalar_one()
            keys = conn.exec_driver_sql(
                "SELECT sum(pg_column_size(search_keys) + pg_column_size(title_keys)"
                " + pg_column_size(search_tsv)) FROM articles"
            ).scalar_one()
        else:
            index = sum(
                conn.exec_driver_sql(
                    f"SELECT coalesce(sum(length({col})), 0) FROM {table}"
                ).scalar_one()
                for table, col in (
                    ("articles_search_data", "block"),
                    ("articles_search_idx", "term"),
                )
            )
            keys = conn.exec_driver_sql(
                "SELECT sum(length(search_keys) + length(title_keys)) FROM articles"
            ).scalar_one()
    return round(int(index) / 2**20, 1), round(int(keys or 0) / 2**20, 1)


def bench_config() -> Config:
    rng = random.Random(3)
    sources = tuple(
        SourceConfig(
            name=site.split(".")[0], url=f"https://www.{site}/rss", tags=tuple(rng.sample(TAGS, 2))
        )
        for site in SITES
    )
    return Config(sources=sources, synonyms=(("IA", "AI", "intelligence artificielle"),))


def insert_overhead(url: str, count: int = 300) -> float:
    """ms per article: insert_article with keys computed and indexed, minus without."""
    corpus = Corpus(random.Random(11))
    docs = [make_article(corpus) for _ in range(2 * count)]
    store = Store(url)
    store.migrate()
    try:
        spent = []
        for offset, with_keys in ((0, False), (count, True)):
            started = time.perf_counter()
            for n, doc in enumerate(docs[offset : offset + count], offset):
                keys = article_keys(doc.title, doc.text, doc.language) if with_keys else ""
                tkeys = article_keys(doc.title, "", doc.language) if with_keys else ""
                store.insert_article(
                    NewArticle(
                        url_key=f"k{n}",
                        url=doc.url,
                        canonical_url=doc.url,
                        source=doc.source,
                        title=doc.title,
                        body=doc.text,
                        first_seen=T0,
                        language=doc.language,
                        search_keys=keys,
                        title_keys=tkeys,
                    ),
                    (),
                )
            spent.append((time.perf_counter() - started) * 1000 / count)
    finally:
        store.close()
    return round(spent[1] - spent[0], 3)


def build(urls: dict[str, str], seed: int, total: int, label: str) -> dict[str, Store]:
    stores = {name: Store(url) for name, url in urls.items()}
    for store in stores.values():
        store.migrate()
    loaders = [Loader(store) for store in stores.values()]
    for rows in batches(seed, total, label):
        for loader in loaders:
            loader.write(rows)
    for loader in loaders:
        loader.finish()
    return stores


def measure(
    config: Config, store: Store, subset: Store, queries: list[str], name: str
) -> dict[str, Any]:
    for query in queries[:5]:  # warm the caches (analysis, the database's pages)
        first_page(config, store, query)
    page_ms = []
    for query in tqdm(queries, desc=f"{name} search", file=sys.stderr, disable=None):
        page_ms.append(timed(lambda q=query: first_page(config, store, q))[0])
    scan_ms, indexed_ms, identical = [], [], True
    for query in tqdm(queries, desc=f"{name} subset", file=sys.stderr, disable=None):
        ms, scanned = timed(
            lambda q=query: {a.id for a, m in scan_stored(config, subset, q, None) if m}
        )
        scan_ms.append(ms)
        ms, indexed = timed(
            lambda q=query: {a.id for a, m in match_stored(config, subset, q, None) if m}
        )
        indexed_ms.append(ms)
        if scanned != indexed:
            identical = False
            print(
                f"DIFFERENT on {query!r}: {len(scanned)} scanned, {len(indexed)} indexed",
                file=sys.stderr,
            )
    index_mib, keys_mib = sizes(store)
    return {
        "p50_ms": round(statistics.median(page_ms), 1),
        "p95_ms": round(p95(page_ms), 1),
        "max_ms": round(max(page_ms), 1),
        "scan_p95_ms": round(p95(scan_ms), 1),
        "indexed_subset_p95_ms": round(p95(indexed_ms), 1),
        "identical_on_subset": identical,
        "index_mib": index_mib,
        "keys_mib": keys_mib,
    }


def pg_database(admin: str) -> tuple[str, Callable[[], None]]:
    plain = admin.replace("postgresql+psycopg://", "postgresql://")
    name = f"monitor_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return admin.rsplit("/", 1)[0] + "/" + name, drop


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--subset", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    args = parser.parse_args(argv)
    config = bench_config()
    queries = make_queries(Corpus(random.Random(args.seed + 1)), args.queries)
    for query in queries:
        parse_query(query, config.synonyms)  # a bad generated query fails here, not timed
    drops: list[Callable[[], None]] = []
    with tempfile.TemporaryDirectory(prefix="search-bench-") as tmp:
        try:
            pg_big, drop = pg_database(PG_ADMIN)
            drops.append(drop)
            pg_small, drop = pg_database(PG_ADMIN)
            drops.append(drop)
            pg_overhead, drop = pg_database(PG_ADMIN)
            drops.append(drop)
            big = build(
                {"sqlite": f"sqlite:///{tmp}/big.db", "postgresql": pg_big},
                args.seed,
                args.articles,
                "articles",
            )
            small = build(
                {"sqlite": f"sqlite:///{tmp}/small.db", "postgresql": pg_small},
                args.seed,
                args.subset,
                "subset",
            )
            result: dict[str, Any] = {
                "articles": args.articles,
                "subset": args.subset,
                "queries": len(queries),
                "page": PAGE,
            }
            for name in ("sqlite", "postgresql"):
                result[name] = measure(config, big[name], small[name], queries, name)
            result["sqlite"]["insert_overhead_ms"] = insert_overhead(f"sqlite:///{tmp}/overhead.db")
            result["postgresql"]["insert_overhead_ms"] = insert_overhead(pg_overhead)
            for store in (*big.values(), *small.values()):
                store.close()
        finally:
            for drop in drops:
                drop()
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
