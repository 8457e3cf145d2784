"""``parse_query`` and ``Query``: the rule language's entry points.

A ``Query`` is parsed once, when the config is loaded, and then asked about many
articles; ``RuleIndex`` asks many queries about one article without analysing the
article again for each of them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from functools import lru_cache, partial

from monitor.rules._analyzed import BOTH, Analyzed, Later, evaluate_fresh
from monitor.rules._matcher import Hits, Node
from monitor.rules._model import Document, Explained, Match
from monitor.rules._parser import SynonymTable, prepare_synonyms
from monitor.rules._prefilter import compile_prefilter
from monitor.rules._snippet import (
    WIDTH,
    WINDOW_WORDS,
    best_start,
    body_frame,
    matched_words,
    term_spans,
    title_frame,
)
from monitor.rules._vocabulary import Vocabulary
from monitor.text import KeyQuery

Spans = list[tuple[int, int]]

_FIELD_ORDER = ("title", "body", "url", "site", "source", "tag", "lang")
_FIELD_RANK = {field: rank for rank, field in enumerate(_FIELD_ORDER)}


class Query:
    """A parsed alert query. Build it with :func:`parse_query`."""

    __slots__ = ("_root", "_vocabulary", "text")

    def __init__(self, text: str, root: Node) -> None:
        self.text = text
        self._root = root
        # Matched on its own (``monitor search``, ``rules test``, tests), a query
        # analyses articles against a vocabulary of its own, made on first use. One per
        # query rather than a default for the module: nothing is shared by the whole
        # process, and the queries of a RuleIndex, which only match through the index's
        # vocabulary, never make one. The cost falls on code matching many queries one
        # by one over the same articles, which registers them once per query: that is
        # what a RuleIndex is for.
        self._vocabulary: Vocabulary | None = None

    def match(self, title: str, text: str, language: str | None = None) -> Match | None:
        """The match of this query in an article's title and body, or None."""
        return self.match_document(Document(title, text, language))

    def match_document(self, doc: Document) -> Match | None:
        """The match of this query in ``doc`` (metadata fields included), or None."""
        return evaluate_fresh(doc, self._own_vocabulary(), self._evaluate)

    def _own_vocabulary(self) -> Vocabulary:
        vocabulary = self._vocabulary
        if vocabulary is None:
            # Two threads racing here may each make one and one is then dropped; each
            # analysis keeps the vocabulary it registered in, so both answers are right.
            vocabulary = self._vocabulary = Vocabulary()
        return vocabulary

    def prefilter(self) -> KeyQuery:
        """The search keys an article must hold for this query to have a chance on it.

        Run by the store on its index (``Store.search_candidates``); it only ever lets
        too many articles through, which :meth:`match_document` then sorts out.
        """
        return compile_prefilter(self._root)

    def _evaluate(self, doc: Analyzed) -> Match | None:
        # The index analyses an article once and asks every candidate rule through here;
        # the caller checks the analysis is still fresh afterwards (evaluate_fresh).
        if not self._root.test(doc, BOTH):
            return None
        return _explain(self._root, doc)

    def _explained(self, doc: Analyzed) -> Match:
        # The match of this query in ``doc``, which the caller knows it matches.
        return _explain(self._root, doc)

    def highlights(self, doc: Document) -> tuple[Spans, Spans] | None:
        """Every span of the title and of the body the match rests on, or None when the
        query does not match: a page showing the whole article marks them all, where a
        snippet shows only those near the first."""
        return evaluate_fresh(doc, self._own_vocabulary(), self._highlights)

    def _highlights(self, analyzed: Analyzed) -> tuple[Spans, Spans] | None:
        if not self._root.test(analyzed, BOTH):
            return None
        hits = Hits()
        self._root.collect(analyzed, BOTH, hits, None)
        title, body = (
            _spans(analyzed, i, _shown(analyzed, i, hits, len(analyzed.chunks[i])), hits.runs[i])
            for i in (0, 1)
        )
        return title, body

    def __repr__(self) -> str:
        return f"Query({self.text!r})"


def parse_query(query: str, synonyms: Sequence[Sequence[str]] = ()) -> Query:
    """Parse ``query``; ``synonyms`` are the config's groups of interchangeable terms.

    Raises :class:`monitor.errors.QueryError` with ``position`` set and a message that
    says what was expected there.
    """
    groups = tuple(tuple(group) for group in synonyms)
    return Query(query, _prepared(groups).parsed(query))


@lru_cache(maxsize=64)
def _prepared(groups: tuple[tuple[str, ...], ...]) -> SynonymTable:
    # Every alert of a config shares the same groups; analyse them once (and keep the
    # trees parsed with them, see SynonymTable.parsed).
    return prepare_synonyms(groups)


def _explain(root: Node, doc: Analyzed) -> Match:
    # What matched is worked out when first read (see Match): from the article, not
    # from this analysis, which holds every table the rules filled.
    return Match.deferred(partial(_explained, root, doc.later))


def _explained(root: Node, later: Later) -> Explained:
    """The terms, fields, snippet, highlights and words of ``root``'s match.

    Found again on a fresh analysis of the article: the answers are those the
    analysis the rules read would have given.
    """
    with later.lock:
        while True:
            doc = later.analysis()
            root.test(doc, BOTH)
            hits = Hits()
            root.collect(doc, BOTH, hits, None)
            fields = {
                term: tuple(where)
                if len(where) == 1
                else tuple(sorted(where, key=_FIELD_RANK.__getitem__))
                for term, where in hits.fields.items()
            }
            snippet, highlights = _placed_once(doc, hits)
            words = matched_words(doc, hits)
            if doc.fresh():
                return tuple(fields), fields, snippet, highlights, words


def _placed_once(doc: Analyzed, hits: Hits) -> tuple[str, tuple[tuple[int, int], ...]]:
    """``_placed``, remembered on the article for the rules whose hits place alike."""
    # The snippet depends only on what is highlighted and on which spans belong to one
    # term (the passage holds the most distinct terms), not on the terms' names: rules
    # firing on one article often share it ("Amazon licenciements", "licenciement
    # Amazon -Google"), so it is placed once per article.
    key = (
        # A multiset: two terms with the same spans still count twice (hash order only
        # decides the tuple's order; a tie can cost a cache miss, never a wrong answer).
        tuple(
            sorted(
                (
                    (where, tuple((first, last) for first, last, _ in spans), frozenset(owned))
                    for (_, where), (spans, owned) in hits.per_term.items()
                ),
                key=hash,
            )
        ),
        *(frozenset(hits.chunks[stream]) for stream in (1, 0)),
        *(frozenset(hits.positions[stream]) for stream in (1, 0)),
        *(tuple(hits.runs[stream]) for stream in (1, 0)),
    )
    placed = doc.placed.get(key)
    if placed is None:
        placed = doc.placed[key] = _placed(doc, hits)
    return placed


def _placed(doc: Analyzed, hits: Hits) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The snippet for these hits and the highlights in it."""
    terms = term_spans(doc, hits, 1)
    start = best_start(terms)
    body = [] if start is None else _spans(doc, 1, _passage(terms, start), hits.runs[1])
    if body:
        first = min(body)
        # The frame depends on the passage: its first match and how far its matches reach.
        reach = max(end for s, end in body if s < first[0] + WIDTH)
        key = (first[0], reach)
        frame = doc.frames.get(key)
        if frame is None:
            frame = doc.frames[key] = body_frame(doc.texts[1], first, reach)
        marks = frame.place(doc.texts[1], body)
    else:
        frame = doc.frames.get(None)
        if frame is None:
            frame = doc.frames[None] = title_frame(doc.texts[0], doc.texts[1])
        title = _spans(doc, 0, _shown(doc, 0, hits, len(doc.chunks[0])), hits.runs[0])
        marks = frame.place(doc.texts[0], title)
    return frame.text, tuple(marks)


def _passage(terms: dict[str, list[tuple[int, int]]], start: int) -> list[int]:
    """Positions of the matched chunks from ``start`` to ``WINDOW_WORDS`` after it."""
    shown: set[int] = set()
    for found in terms.values():
        for first, last in found:
            if start <= first and last <= start + WINDOW_WORDS:
                shown.update(range(first, last + 1))
    return sorted(shown)


def _shown(doc: Analyzed, stream: int, hits: Hits, width: int) -> list[int]:
    """Positions of the highlighted chunks within ``width`` of the first one."""
    at = hits.positions[stream]
    occurrences = doc.occurrences
    found = [places for chunk in hits.chunks[stream] if (places := occurrences(stream, chunk))]
    if found:
        first = min([places[0] for places in found])
        if at:
            first = min(first, min(at))
    elif at:
        first = min(at)
    else:
        return []
    last = first + width
    shown = {i for i in at if i <= last} if at else set()
    for places in found:
        if places[-1] <= last:
            shown.update(places)
        else:
            shown.update(places[: bisect_right(places, last)])
    return sorted(shown)


def _spans(
    doc: Analyzed, stream: int, shown: list[int], runs: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    # A chunk's words, not the elided article in front ("l'**IA**"), and a phrase as
    # one stretch ("**lettre ouverte**").
    found: list[tuple[int, int]] = []
    joined: set[int] = set()
    for first, last in runs:
        if first in shown and last in shown:
            found.append((doc.word_spans(stream, first)[0][0], doc.word_spans(stream, last)[-1][1]))
            joined.update(range(first, last + 1))
    for i in shown:
        if i not in joined:
            found += doc.word_spans(stream, i)
    return found
