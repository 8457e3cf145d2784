"""An article analysed once, then read by every rule that might match it.

Analysis is the cost every article pays whatever the number of rules, so it is kept
to a few operations that run in C. The article is cut into *chunks*: runs of letters
and digits, apostrophes included (see CHUNK_RE), which are its words but for the rare
"aujourd'hui", lower-cased. Its distinct chunks are registered in the
:class:`Vocabulary` it is analysed against, where the rules look up which chunks offer
their words (see _vocabulary).

Positions (for phrases, proximity and snippets) are chunk positions, found by
``list.index`` on the article's chunk list: proximity counts "aujourd'hui" as the one
word it is written as.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from re import Match as ReMatch
from typing import TypeVar

from monitor.rules._analysis import (
    ASCII_CHUNK_RE,
    CHUNK_RE,
    chunk_words,
    fold,
    normalize,
    primary_language,
    stemmers_for,
)
from monitor.rules._model import Document, Match
from monitor.rules._snippet import Frame
from monitor.rules._vocabulary import Vocabulary
from monitor.text import host_of

TITLE = 1
BODY = 2
BOTH = TITLE | BODY
# Stream index (0 title, 1 body) -> its bit.
BITS = (TITLE, BODY)

T = TypeVar("T")


def evaluate_fresh(doc: Document, vocabulary: Vocabulary, evaluate: Callable[[Analyzed], T]) -> T:
    """``evaluate`` an analysis of ``doc``, redone until no emptying of ``vocabulary`` spoilt it.

    Another thread may empty the vocabulary while the rules read the analysis; their
    lookups can then miss chunks the article holds, so the answer is thrown away and the
    article analysed again. An emptying is rare (the vocabulary is large), two in a row
    for one article rarer still.
    """
    while True:
        analyzed = Analyzed(doc, vocabulary)
        answer = evaluate(analyzed)
        if analyzed.fresh():
            return answer


class Later:
    """One article's way back to an analysis, for its matches' snippets (Match.deferred).

    Only the document is kept, not the analysis the rules read: that one holds every
    table the rules filled, and a match may wait long before it is shown, or never be.
    The first match shown analyses the article again and the others share that.
    """

    __slots__ = ("_analyzed", "doc", "lock", "vocabulary")

    def __init__(self, doc: Document, vocabulary: Vocabulary) -> None:
        self.doc = doc
        self.vocabulary = vocabulary
        # Held while an analysis is read: its caches are filled as it is read, and the
        # matches may be shown from several threads.
        self.lock = threading.Lock()
        self._analyzed: Analyzed | None = None

    def analysis(self) -> Analyzed:
        """A fresh analysis of the article (call with ``lock`` held)."""
        analyzed = self._analyzed
        if analyzed is None or not analyzed.fresh():
            analyzed = self._analyzed = Analyzed(self.doc, self.vocabulary)
        return analyzed

    def explain_now(self, matches: Iterable[Match], analyzed: Analyzed) -> None:
        """Work out ``matches`` (this article's) from ``analyzed``, the analysis the rules
        just read, instead of analysing the article again; then let go of it.

        For a caller that shows every match at once (the poll writes their snippets into
        the alerts): the answers are those a fresh analysis gives, and none of the
        matches keeps the rules' tables afterwards.
        """
        with self.lock:
            self._analyzed = analyzed
        try:
            for match in matches:
                match.words  # noqa: B018 - read to explain it
        finally:
            with self.lock:
                self._analyzed = None


class Analyzed:
    """The chunks, their vocabulary entries and the metadata of one :class:`Document`."""

    __slots__ = (
        "_occurrences",
        "_raw",
        "_spans",
        "_walks",
        "_word_spans",
        "chunks",
        "doc",
        "frames",
        "generation",
        "in_mask",
        "lang",
        "langs",
        "later",
        "memo",
        "near_memo",
        "placed",
        "present",
        "site",
        "source",
        "tags",
        "texts",
        "url",
        "vocabulary",
    )

    def __init__(self, doc: Document, vocabulary: Vocabulary) -> None:
        self.doc = doc
        self.texts = (normalize(doc.title), normalize(doc.text))
        title_chunks, title_raw = cut_chunks(self.texts[0])
        body_chunks, body_raw = cut_chunks(self.texts[1])
        self.chunks = (title_chunks, body_chunks)
        self._raw = (title_raw, body_raw)
        title, body = frozenset(title_chunks), frozenset(body_chunks)
        both = title | body
        self.langs = stemmers_for(doc.language, both)
        # Distinct chunks per mask: [unused, title, body, title or body].
        self.in_mask = (both, title, body, both)
        self.vocabulary = vocabulary
        self.generation = vocabulary.register(both, self.langs)
        self.url = doc.url.casefold()
        # The pipeline fills Document.site; the URL's host covers callers that only know it.
        self.site = fold(doc.site or host_of(doc.url)).strip(".").removeprefix("www.")
        self.source = fold(doc.source.strip())
        self.tags = frozenset(fold(t.strip()) for t in doc.tags)
        self.lang = primary_language(doc.language)
        # Per query word: the chunks it matched, in the title and in the body. Rules
        # share words ("Amazon" in many alerts): the first rule to ask pays for all.
        self.memo: dict[object, tuple[frozenset[str], frozenset[str]]] = {}
        # The same per query word, as the fields (TITLE | BODY bits) it occurs in.
        self.present: dict[object, int] = {}
        # Proximity spans by (node, stream): a chain's test, collect and highlights ask
        # for the same spans of its members (the key holds the node: ids stay unique).
        self.near_memo: dict[tuple[object, int], list[tuple[int, int, frozenset[int]]]] = {}
        self._occurrences: tuple[dict[str, list[int]], dict[str, list[int]]] = ({}, {})
        self._word_spans: tuple[dict[int, tuple[tuple[int, int], ...]], ...] = ({}, {})
        # Snippet texts by first match (None: the title's), shared by the rules that fire.
        self.frames: dict[tuple[int, int] | None, Frame] = {}
        # Snippet and highlights by what a rule highlights (see _query._explain).
        self.placed: dict[tuple[object, ...], tuple[str, tuple[tuple[int, int], ...]]] = {}
        self._spans: tuple[list[tuple[int, int]], list[tuple[int, int]]] = ([], [])
        self._walks: list[Iterator[ReMatch[str]] | None] = [None, None]
        # What the article's matches read their snippets from, once this analysis
        # (and its many tables) is gone.
        self.later = Later(doc, vocabulary)

    def fresh(self) -> bool:
        """False if the vocabulary was emptied since this analysis: redo it."""
        return self.vocabulary.is_current(self.generation)

    def has_key(self, lang: str, key: str, mask: int) -> bool:
        """Whether a word of the article's title/body (``mask``) offers stem ``key``."""
        return not self.in_mask[mask].isdisjoint(self.vocabulary.with_key(lang, key))

    def has_form(self, folded: str, mask: int) -> bool:
        """Whether a word of the article's title/body (``mask``) folds to ``folded``."""
        return not self.in_mask[mask].isdisjoint(self.vocabulary.with_form(folded))

    def split(self, chunks: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
        """The article's chunks among ``chunks``: those in the title, those in the body."""
        found = self.in_mask[BOTH].intersection(chunks)
        return found & self.in_mask[TITLE], found & self.in_mask[BODY]

    def positions(self, stream: int, chunks: Iterable[str]) -> list[int]:
        """Sorted positions in ``stream`` of every occurrence of ``chunks``."""
        out: list[int] = []
        for chunk in chunks:
            out += self.occurrences(stream, chunk)
        out.sort()
        return out

    def occurrences(self, stream: int, chunk: str) -> list[int]:
        """Positions of ``chunk`` in the stream, in order (remembered per article)."""
        table = self._occurrences[stream]
        found = table.get(chunk)
        if found is None:
            within = self.chunks[stream]
            found = table[chunk] = []
            # list.index scans in C: far cheaper than a position table built in Python
            # for the handful of chunks the rules ask about.
            at = within.index(chunk) if chunk in within else -1
            while at >= 0:
                found.append(at)
                try:
                    at = within.index(chunk, at + 1)
                except ValueError:
                    at = -1
        return found

    def word_spans(self, stream: int, at: int) -> tuple[tuple[int, int], ...]:
        """Character spans of the words of the chunk at position ``at``: "l'IA" gives "IA"."""
        table = self._word_spans[stream]
        found = table.get(at)
        if found is None:
            start = self.span(stream, at)[0]
            found = table[at] = tuple(
                (start + a, start + b)
                for a, b, _, _ in chunk_words((self._raw[stream] or self.chunks[stream])[at])
            )
        return found

    def span(self, stream: int, at: int) -> tuple[int, int]:
        """Character ``[start, end)`` of the chunk at position ``at``, in the normalized text.

        Offsets are found by walking the text only as far as asked: snippets show the
        first matches, so most of a long body is never walked.
        """
        table = self._spans[stream]
        if len(table) <= at:
            walk = self._walks[stream]
            if walk is None:
                walk = self._walks[stream] = CHUNK_RE.finditer(self.texts[stream])
            table += map(_span_of, islice(walk, at + 1 - len(table)))
        return table[at]


_span_of = ReMatch.span


def cut_chunks(text: str) -> tuple[list[str], list[str] | None]:
    """The text's chunks, lower-cased, and the chunks as written when they differ in length.

    Lower-casing first merges "Licenciements" at the start of a sentence with
    "licenciements" elsewhere: fewer distinct chunks to register and to look up. When
    lower-casing keeps every character one character (nearly always), offsets into the
    lower-cased chunks are offsets into the text as written.
    """
    lowered = text.lower()
    if lowered.isascii():
        return ASCII_CHUNK_RE.findall(lowered), None
    if len(lowered) == len(text):
        return CHUNK_RE.findall(lowered), None
    written = CHUNK_RE.findall(text)
    return [chunk.lower() for chunk in written], written
