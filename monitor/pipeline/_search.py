"""A query over stored articles: what ``monitor search`` and ``monitor rules test`` read.

The database's search index picks the candidates (``Query.prefilter`` →
``Store.search_candidates``), which can only be too many; the query's matcher then
decides on each, as the poll decides on a new article. So the matches are those of
reading every stored article, without reading them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from monitor.config import Config
from monitor.rules import Document, Match, parse_query
from monitor.store import Store, StoredArticle


def match_stored(
    config: Config, store: Store, query: str, since: datetime | None
) -> Iterator[tuple[StoredArticle, Match | None]]:
    """The stored articles since ``since`` that the index could not rule out, most
    recently stored first, each with the query's match on it (None: no match), read as
    the poll reads a new article (its source's tags included).

    Every article the query matches is among them; the others are not yielded (their
    match would be None). :func:`count_candidates` says how many there will be.
    """
    q = parse_query(query, config.synonyms)
    tags = {s.name: s.tags for s in config.sources}
    for batch in store.search_candidates(q.prefilter(), since):
        for art in batch:
            yield art, q.match_document(stored_document(art, tags))


def count_candidates(config: Config, store: Store, query: str, since: datetime | None) -> int:
    """How many articles :func:`match_stored` will yield for this query."""
    return store.count_candidates(parse_query(query, config.synonyms).prefilter(), since)


def scan_stored(
    config: Config, store: Store, query: str, since: datetime | None
) -> Iterator[tuple[StoredArticle, Match | None]]:
    """Every stored article since ``since``, oldest first, with the query's match on it:
    the search without the index, which tests and bench/search.py compare it with."""
    q = parse_query(query, config.synonyms)
    tags = {s.name: s.tags for s in config.sources}
    for art in store.iter_articles(since):
        yield art, q.match_document(stored_document(art, tags))


def stored_document(art: StoredArticle, tags: dict[str, tuple[str, ...]]) -> Document:
    """A stored article as the matcher reads it, its source's ``tags`` included."""
    return Document(
        title=art.title, text=art.body, language=art.language, url=art.url,
        source=art.source, tags=tags.get(art.source, ()),
    )  # fmt: skip
