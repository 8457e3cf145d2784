"""Archive search on the database's index: the same matches as reading every article.

``match_stored`` reads only the candidates the index lets through (``Query.prefilter``
on ``Store.search_candidates``); ``scan_stored`` reads everything. Both run here on
SQLite (FTS5) and PostgreSQL (GIN), over generated French and English articles.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config import Config, SourceConfig
from monitor.errors import QueryError
from monitor.pipeline import count_candidates, match_stored, scan_stored
from monitor.rules import article_keys, parse_query
from monitor.store import NewArticle, Store
from monitor.text import EVERYTHING, KeyTerm

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

# Inflected families (accents typed and not), names, elided and possessive forms,
# words written as one: every way the matcher reads a word has a chance to be hit.
FRENCH = [
    "licenciements", "licenciement", "licenciés", "licencies", "licencier", "grève", "grèves",
    "greve", "économie", "économique", "economie", "ouverte", "ouvertes", "lettre", "lettres",
    "intelligence", "intelligences", "artificielle", "artificielles", "vote", "voté", "votés",
    "aujourd'hui", "l'IA", "d'Amazon", "qu'Amazon", "Amazonie", "entreprise", "entreprises",
    "élection", "élections", "le", "la", "les", "des", "et", "dans", "pour", "une", "mets"
]  # fmt: skip
ENGLISH = [
    "layoffs", "layoff", "laid", "voting", "voted", "vote", "votes", "open", "opened",
    "opening", "opens", "market", "markets", "economy", "economic", "intelligence",
    "artificial", "Amazon's", "news", "new", "the", "and", "of", "a", "to", "in", "strike",
    "strikes", "striking", "model", "models", "Meta", "Meta's"
]  # fmt: skip
NAMES = [
    "Amazon", "Google", "Tesla", "Musk", "Macron", "Łódź", "Straße", "Œuvre", "OpenAI",
    "Kamodor", "Kamovis"
]  # fmt: skip
SITES = ["lemonde.fr", "bbc.co.uk", "lesechos.fr"]


def _text(rng: random.Random, words: list[str], count: int) -> str:
    out = [rng.choice(words if rng.random() < 0.75 else NAMES) for _ in range(count)]
    return " ".join(w.upper() if rng.random() < 0.05 else w for w in out)


def _articles(seed: int, count: int) -> Iterator[NewArticle]:
    rng = random.Random(seed)
    for n in range(count):
        french = rng.random() < 0.5
        words = FRENCH if french else ENGLISH
        title = _text(rng, words, rng.randint(2, 6))
        body = _text(rng, words, rng.randint(0, 30))
        language = rng.choice(["fr" if french else "en", "fr-CA" if french else "en-GB", None])
        site = rng.choice(SITES)
        yield keyed(
            NewArticle(
                url_key=f"k{seed}-{n}",
                url=f"https://www.{site}/{n}",
                canonical_url="",
                source=site.split(".")[0],
                title=title,
                body=body,
                first_seen=T0 + timedelta(minutes=n),
                language=language,
            )
        )


def keyed(article: NewArticle) -> NewArticle:
    """The article with its search keys, as the pipeline's prepare() gives it."""
    return replace(
        article,
        search_keys=article_keys(article.title, article.body, article.language),
        title_keys=article_keys(article.title, "", article.language),
    )


CONFIG = Config(
    sources=tuple(
        SourceConfig(name=site.split(".")[0], url=f"https://{site}/rss", tags=(tag,))
        for site, tag in zip(SITES, ["eco", "tech", "eco"], strict=True)
    ),
    synonyms=(("IA", "AI", "intelligence artificielle"), ("licenciements", "layoffs")),
)


@pytest.fixture
def corpus(db_url: str) -> Iterator[Store]:
    store = Store(db_url)
    store.migrate()
    for article in _articles(1, 160):
        store.insert_article(article, ())
    yield store
    store.close()


def indexed(store: Store, query: str) -> set[int]:
    return {a.id for a, m in match_stored(CONFIG, store, query, None) if m is not None}


def scanned(store: Store, query: str) -> set[int]:
    return {a.id for a, m in scan_stored(CONFIG, store, query, None) if m is not None}


TABLE = [
    "licenciements", "licencies", "greve", '"grève"', "layoffs", "vote", '"voted"',
    "Amazon", "Amazon*", "amaz*", "Łódź", "Lodz", "strasse", "oeuvre", "aujourd'hui",
    "IA", "AI", "Meta", "news", '"lettre ouverte"', '"intelligence artificielle"',
    "Amazon OR Tesla", "(Musk OR Macron) (vote OR élection)", "Amazon -grève",
    "Amazon NOT (Tesla OR Google)", "Amazon NEAR/3 licenciements", "Tesla ONEAR/2 Musk",
    "title:Amazon", "body:(economie OR economy)", "site:lemonde.fr Amazon", "lang:fr vote",
    "source:bbc Meta", "tag:eco market*", "site:lemonde.fr", "-Amazon Google",
    '"Kamo*"', "Kamodor ONEAR/5 Kamovis", "entreprise* Amazon*", "the AND of",
]  # fmt: skip


def test_indexed_search_finds_what_the_scan_finds(corpus: Store) -> None:
    narrowed = 0
    for query in TABLE:
        assert indexed(corpus, query) == scanned(corpus, query), query
        narrowed += count_candidates(CONFIG, corpus, query, None) < 160
    assert narrowed >= len(TABLE) // 2  # the index does rule articles out


_WORDS = st.sampled_from(FRENCH + ENGLISH + NAMES)


def _atom() -> st.SearchStrategy[str]:
    return st.one_of(
        _WORDS,
        _WORDS.map(lambda w: f'"{w}"'),
        st.tuples(_WORDS, _WORDS).map(lambda p: f'"{p[0]} {p[1]}"'),
        _WORDS.filter(lambda w: len(w) >= 3 and w.isalpha()).map(lambda w: w[:3] + "*"),
        st.sampled_from(["site:lemonde.fr", "lang:fr", "lang:en", "source:bbc", "tag:eco"]),
    )


_QUERIES = st.recursive(
    _atom(),
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda p: f"({p[0]} OR {p[1]})"),
        st.tuples(inner, inner).map(lambda p: f"{p[0]} {p[1]}"),
        st.tuples(inner, _WORDS).map(lambda p: f"{p[0]} -{p[1]}"),
        st.tuples(_WORDS, _WORDS, st.integers(0, 4)).map(lambda p: f"{p[0]} NEAR/{p[2]} {p[1]}"),
        inner.map(lambda q: f"title:({q})" if ":" not in q else q),
    ),
    max_leaves=5,
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=_QUERIES)
def test_indexed_equals_scan_on_generated_queries(corpus: Store, query: str) -> None:
    try:
        parse_query(query, CONFIG.synonyms)
    except QueryError:  # a generated query the language refuses (only NOTs, say)
        return
    assert indexed(corpus, query) == scanned(corpus, query)


def test_the_comparison_fails_when_the_prefilter_drops_a_stem(corpus: Store) -> None:
    # A prefilter that only asks for the written form of "licenciements", forgetting its
    # stem keys, loses articles the matcher matches ("licencié", "licencier"...): the
    # equality the tests above check would not hold.
    query = parse_query("licenciements", CONFIG.synonyms)
    wrong = {a.id for batch in corpus.search_candidates(KeyTerm("xlicenciements")) for a in batch}
    assert scanned(corpus, "licenciements") - wrong
    right = {a.id for batch in corpus.search_candidates(query.prefilter()) for a in batch}
    assert scanned(corpus, "licenciements") <= right


def test_a_query_of_fields_only_reads_everything(corpus: Store) -> None:
    assert parse_query("site:lemonde.fr").prefilter() == EVERYTHING
    assert count_candidates(CONFIG, corpus, "site:lemonde.fr", None) == 160


def test_candidates_come_newest_first_in_batches(corpus: Store) -> None:
    ids = [a.id for batch in corpus.search_candidates(EVERYTHING, batch=7) for a in batch]
    assert ids == sorted(ids, reverse=True) and len(ids) == 160
    since = T0 + timedelta(minutes=100)
    recent = [a for batch in corpus.search_candidates(EVERYTHING, since, 50) for a in batch]
    assert len(recent) == 60 and all(a.first_seen >= since for a in recent)


def test_windows_give_the_same_candidates_in_the_same_order(
    corpus: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PostgreSQL reads candidates in windows of ids (4,096 at first): tiny windows make
    # one search cross many of them, growing and shrinking, with batches spanning
    # windows; what comes out must not depend on it.
    import monitor.store._search as search

    for query in ("Amazon", "Łódź OR Kamodor", '"lettre ouverte"', "vote", "amaz*"):
        prefilter = parse_query(query, CONFIG.synonyms).prefilter()
        whole = [a.id for batch in corpus.search_candidates(prefilter, batch=1000) for a in batch]
        since = T0 + timedelta(minutes=40)
        recent = [a.id for b in corpus.search_candidates(prefilter, since, 1000) for a in b]
        monkeypatch.setattr(search, "WINDOW", 2)
        batches = list(corpus.search_candidates(prefilter, batch=7))
        assert [a.id for batch in batches for a in batch] == whole, query
        assert all(len(batch) == 7 for batch in batches[:-1]), query
        assert whole == sorted(whole, reverse=True)
        windowed = [a.id for b in corpus.search_candidates(prefilter, since, 7) for a in b]
        assert windowed == recent, query
        monkeypatch.undo()


def _one(store: Store, query: str) -> set[str]:
    return {a.title for a, m in match_stored(CONFIG, store, query, None) if m is not None}


def test_the_index_follows_insert_edit_and_prune(db_url: str) -> None:
    store = Store(db_url)
    store.migrate()
    try:
        base = NewArticle(
            url_key="a", url="https://e.org/a", canonical_url="https://e.org/a", source="s",
            title="Amazon annonce", body="des licenciements massifs", first_seen=T0,
            language="fr",
        )  # fmt: skip
        store.insert_article(keyed(base), ())
        assert _one(store, "licenciement") == {"Amazon annonce"}
        assert count_candidates(CONFIG, store, "grève", None) == 0
        edited = keyed(
            NewArticle(**{**_fields(base), "body": "une grève chez les livreurs"})  # type: ignore[arg-type]
        )
        store.update_article(edited, ())
        assert _one(store, "grève") == {"Amazon annonce"}
        assert count_candidates(CONFIG, store, "licenciements", None) == 0
        store.prune(T0 + timedelta(days=1))
        # The body is gone, so are its keys; the title's stay searchable.
        assert count_candidates(CONFIG, store, "grève", None) == 0
        assert _one(store, "Amazon") == {"Amazon annonce"}
        assert scanned(store, "grève") == set()
    finally:
        store.close()


def _fields(article: NewArticle) -> dict[str, object]:
    return {name: getattr(article, name) for name in article.__dataclass_fields__}


def _alembic(db_url: str, *args: str) -> None:
    env = {**os.environ, "MONITOR_DATABASE_URL": db_url}
    out = subprocess.run(
        [sys.executable, "-m", "alembic", *args], cwd=ROOT, env=env,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr


def test_the_migration_backfills_an_existing_database(db_url: str) -> None:
    _alembic(db_url, "upgrade", "0001")
    engine = sa.create_engine(db_url)
    articles = list(_articles(2, 40))
    with engine.begin() as conn:
        for a in articles:  # as 0001's code stored them: no keys
            conn.execute(
                sa.text(
                    "INSERT INTO articles (url_key, url, canonical_url, source, title, body,"
                    " summary, authors, language, first_seen, quality) VALUES (:k, :u, :u,"
                    " :s, :t, :b, '', '', :l, :f, 'ok')"
                ),
                {"k": a.url_key, "u": a.url, "s": a.source, "t": a.title, "b": a.body,
                 "l": a.language, "f": a.first_seen.replace(tzinfo=None)},
            )  # fmt: skip
    engine.dispose()
    _alembic(db_url, "upgrade", "head")
    store = Store(db_url)
    try:
        for query in ("licenciements", "Amazon OR Tesla", '"lettre ouverte"', "amaz*", "vote"):
            found = indexed(store, query)
            assert found == scanned(store, query), query
        assert indexed(store, "Amazon OR Tesla OR Google")  # the backfill did index them
        # What the backfill wrote is what the pipeline writes.
        with store.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT url_key, search_keys, title_keys FROM articles"))
            stored = {r.url_key: (r.search_keys, r.title_keys) for r in rows}
        assert stored == {a.url_key: (a.search_keys, a.title_keys) for a in articles}
    finally:
        store.close()


def test_a_word_that_folds_to_punctuation_is_found_not_refused(db_url: str) -> None:
    """Folding turns "⑴" into "(1)" and "⒈" into "1.": the index cut those keys into
    pieces, so the query must ask for the pieces, not a phrase FTS5 would refuse."""
    store = Store(db_url)
    store.migrate()
    try:
        for key, title in (("a", "Étape ⑴ du plan"), ("b", "Point ⒈ et ⑵"), ("c", "Rien")):
            store.insert_article(
                keyed(
                    NewArticle(
                        url_key=key,
                        url=f"https://e.org/{key}",
                        canonical_url=f"https://e.org/{key}",
                        source="s",
                        title=title,
                        body="texte de l'article",
                        first_seen=T0,
                        language="fr",
                    )
                ),
                (),
            )
        for query in ("⑴", "⒈", "⑴ OR ⑵", '"⑴"', "⑴*", "l'article", "Étape ⑴"):
            assert indexed(store, query) == scanned(store, query), query
        assert _one(store, "⑴") == {"Étape ⑴ du plan"}
    finally:
        store.close()


def test_article_keys_do_not_depend_on_what_their_cache_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The keys of a word are cached per stemmer and the cache is emptied when full: an
    article's keys come out the same from a cold, a warm and a constantly emptied cache."""
    from monitor.rules import _prefilter

    rng = random.Random(11)
    texts = [
        (_text(rng, FRENCH, 12), _text(rng, FRENCH + ENGLISH, 80), lang)
        for lang in ("fr", "en", None)
        for _ in range(5)
    ]
    monkeypatch.setattr(_prefilter, "_TEXT_TOKENS", {})
    cold = [article_keys(*text) for text in texts]
    assert [article_keys(*text) for text in texts] == cold  # warm
    monkeypatch.setattr(_prefilter, "_TEXT_TOKENS", {})
    monkeypatch.setattr(_prefilter, "_TOKENS_LIMIT", 7)
    assert [article_keys(*text) for text in texts] == cold
    assert all(len(table) <= 7 for table in _prefilter._TEXT_TOKENS.values())
    # Both kinds of key are there: folded forms ("x…") and stems ("b…", "n…", "l…").
    assert {key[0] for key in cold[0].split()} >= {"x", "n"}
