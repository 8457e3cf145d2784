"""The parts every query tree is made of, and what they report when a rule fires.

Every node answers ``test`` (does it match, within the title and/or body bits of
``mask``) as cheaply as it can, because the index and brute force both call it for
each candidate rule. Only when a whole rule has matched does ``collect`` walk the
parts that actually matched, into a ``Hits``: which terms matched where, and what to
highlight. Positional nodes (words, phrases, proximity, OR groups of those) also
answer ``spans``: the chunk ranges where they occur in one stream.
"""

from __future__ import annotations

from collections.abc import Iterable

from monitor.rules._analyzed import Analyzed

# (first chunk, last chunk, positions of the chunks that matched), in one stream.
Span = tuple[int, int, frozenset[int]]
STREAM_NAMES = ("title", "body")
# Mask -> the streams it covers: 0 the title, 1 the body.
STREAMS = {1: (0,), 2: (1,), 3: (0, 1)}


class Hits:
    """What matched: term (as written) -> fields, and what to highlight per stream.

    Highlights are chunk positions (from phrases and proximity, which know them) or
    chunks (from single words: every occurrence is highlighted, and the snippet finds
    the ones it shows without the whole text being searched).
    """

    __slots__ = ("chunks", "fields", "per_term", "positions", "runs")

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}
        self.positions: tuple[set[int], set[int]] = (set(), set())
        self.chunks: tuple[set[str], set[str]] = (set(), set())
        # Phrases found, as (first, last) positions: highlighted as one stretch.
        self.runs: tuple[list[tuple[int, int]], list[tuple[int, int]]] = ([], [])
        # (term, stream) -> its spans and chunks: which words matched which term, for
        # the snippet (the passage holding most terms) and the alert's "IA -> AI".
        # Spans are kept as given (cheap); the snippet expands the few it reads.
        self.per_term: dict[tuple[str, int], tuple[list[Span], set[str]]] = {}

    def add(
        self,
        label: str,
        field: str,
        stream: int | None = None,
        at: Iterable[Span] = (),
        chunks: Iterable[str] = (),
    ) -> None:
        where = self.fields.setdefault(label, [])
        if field not in where:
            where.append(field)
        if stream is not None:
            positions = self.positions[stream]
            spans, owned = self.per_term.setdefault((label, stream), ([], set()))
            owned.update(chunks)
            for span in at:
                first, last, words = span
                positions |= words
                spans.append(span)
                if last > first and len(words) == last - first + 1:
                    self.runs[stream].append((first, last))
            self.chunks[stream].update(chunks)


class Node:
    """A part of a query; ``text`` is how the user wrote it."""

    __slots__ = ("text",)
    positional = False

    def __init__(self, text: str) -> None:
        self.text = text

    def test(self, doc: Analyzed, mask: int) -> bool:
        raise NotImplementedError

    def collect(self, doc: Analyzed, mask: int, hits: Hits, label: str | None) -> None:
        raise NotImplementedError

    def spans(self, doc: Analyzed, stream: int) -> list[Span]:
        raise NotImplementedError

    def collect_at(
        self, doc: Analyzed, stream: int, allowed: set[int], hits: Hits, label: str | None
    ) -> None:
        """Record the parts of this node found at ``allowed`` positions of ``stream``."""
        found = []
        for first, last, at in self.spans(doc, stream):
            inside = at & allowed
            if inside:
                found.append((first, last, inside))
        if found:
            hits.add(label or self.text, STREAM_NAMES[stream], stream, found)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text!r})"


class Positional(Node):
    """A node with positions: it can stand on either side of NEAR."""

    __slots__ = ()
    positional = True

    def collect(self, doc: Analyzed, mask: int, hits: Hits, label: str | None) -> None:
        for stream in STREAMS[mask]:
            found = self.spans(doc, stream)
            if found:
                hits.add(label or self.text, STREAM_NAMES[stream], stream, found)
