"""A query over stored articles: what ``monitor search`` and ``monitor rules test`` read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from monitor.config import Config
from monitor.rules import Document, Match, parse_query
from monitor.store import Store, StoredArticle


def match_stored(
    config: Config, store: Store, query: str, since: datetime | None
) -> Iterator[tuple[StoredArticle, Match | None]]:
    """Every stored article since ``since`` with the query's match on it (None: no match),
    read as the poll reads a new article (its source's tags included)."""
    q = parse_query(query, config.synonyms)
    tags = {s.name: s.tags for s in config.sources}
    for art in store.iter_articles(since):
        doc = Document(
            title=art.title, text=art.body, language=art.language, url=art.url,
            source=art.source, tags=tags.get(art.source, ()),
        )  # fmt: skip
        yield art, q.match_document(doc)
