"""Query nodes that combine others: phrases, proximity, AND/OR, NOT, fields, metadata.

See _nodes for what every node answers; the one-word nodes live in _leaves and are
re-exported here so that the parser and the index find every node in one place.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable

from monitor.rules._analyzed import BITS, BOTH, Analyzed
from monitor.rules._leaves import Exact, Prefix, Unit, Word, WordLike
from monitor.rules._nodes import STREAMS, Hits, Node, Positional, Span

__all__ = [
    "Exact",
    "Field",
    "Group",
    "Hits",
    "Meta",
    "Near",
    "Node",
    "Not",
    "Phrase",
    "Prefix",
    "Synonyms",
    "Unit",
    "Word",
]


class Phrase(Positional):
    """Words that must follow one another, in the same stream."""

    __slots__ = ("items",)

    def __init__(self, text: str, items: tuple[WordLike, ...]) -> None:
        super().__init__(text)
        self.items = items

    def test(self, doc: Analyzed, mask: int) -> bool:
        if not all(item.test(doc, mask) for item in self.items):
            return False
        return any(self.spans(doc, stream) for stream in STREAMS[mask])

    def spans(self, doc: Analyzed, stream: int) -> list[Span]:
        first = self.items[0].positions(doc, stream)
        if not first:
            return []
        rest: list[set[int]] = []
        for item in self.items[1:]:
            at = set(item.positions(doc, stream))
            if not at:
                return []
            rest.append(at)
        size = len(self.items)
        return [
            (p, p + size - 1, frozenset(range(p, p + size)))
            for p in first
            if all(p + i in at for i, at in enumerate(rest, 1))
        ]


class Near(Positional):
    """``a NEAR/n b``: at most n words between a and b; ONEAR also wants a before b."""

    __slots__ = ("distance", "left", "ordered", "right")

    def __init__(self, text: str, left: Node, right: Node, distance: int, ordered: bool) -> None:
        super().__init__(text)
        self.left = left
        self.right = right
        self.distance = distance
        self.ordered = ordered

    def test(self, doc: Analyzed, mask: int) -> bool:
        if not (self.left.test(doc, mask) and self.right.test(doc, mask)):
            return False
        return any(self.spans(doc, stream) for stream in STREAMS[mask])

    def spans(self, doc: Analyzed, stream: int) -> list[Span]:
        lefts = self.left.spans(doc, stream)
        if not lefts:
            return []
        rights = sorted(self.right.spans(doc, stream))
        if not rights:
            return []
        starts = [r[0] for r in rights]
        longest = max(r[1] - r[0] for r in rights)
        n = self.distance
        found: dict[tuple[int, int], frozenset[int]] = {}
        for ls, le, lw in lefts:
            lo = bisect_left(starts, le + 1)
            hi = bisect_right(starts, le + 1 + n)
            pairs = rights[lo:hi]
            if not self.ordered:
                lo = bisect_left(starts, ls - 1 - n - longest)
                hi = bisect_left(starts, ls)
                pairs += [r for r in rights[lo:hi] if r[1] < ls and ls - r[1] - 1 <= n]
            for rs, re, rw in pairs:
                key = (min(ls, rs), max(le, re))
                found[key] = found.get(key, frozenset()) | lw | rw
        return [(s, e, w) for (s, e), w in found.items()]

    def collect_at(
        self, doc: Analyzed, stream: int, allowed: set[int], hits: Hits, label: str | None
    ) -> None:
        at: set[int] = set()
        for _, _, words in self.spans(doc, stream):
            if words & allowed:
                at |= words & allowed
        if at:
            self.left.collect_at(doc, stream, at, hits, label)
            self.right.collect_at(doc, stream, at, hits, label)

    def collect(self, doc: Analyzed, mask: int, hits: Hits, label: str | None) -> None:
        for stream in STREAMS[mask]:
            at: set[int] = set()
            for _, _, words in self.spans(doc, stream):
                at |= words
            if at:
                self.left.collect_at(doc, stream, at, hits, label)
                self.right.collect_at(doc, stream, at, hits, label)


class Group(Node):
    """Children combined by OR (``any_of``) or by AND."""

    __slots__ = ("any_of", "children", "positional")

    def __init__(self, text: str, children: tuple[Node, ...], any_of: bool) -> None:
        super().__init__(text)
        self.children = children
        self.any_of = any_of
        self.positional = any_of and all(c.positional for c in children)

    def test(self, doc: Analyzed, mask: int) -> bool:
        if self.any_of:
            return any(c.test(doc, mask) for c in self.children)
        return all(c.test(doc, mask) for c in self.children)

    def collect(self, doc: Analyzed, mask: int, hits: Hits, label: str | None) -> None:
        for child in self.children:
            if not self.any_of or child.test(doc, mask):
                child.collect(doc, mask, hits, label)

    def spans(self, doc: Analyzed, stream: int) -> list[Span]:
        found: list[Span] = []
        for child in self.children:
            found += child.spans(doc, stream)
        return found

    def collect_at(
        self, doc: Analyzed, stream: int, allowed: set[int], hits: Hits, label: str | None
    ) -> None:
        for child in self.children:
            child.collect_at(doc, stream, allowed, hits, label)


class Synonyms(Group):
    """A query word and its synonyms from the config: reported as the word the user wrote."""

    __slots__ = ()

    def __init__(self, text: str, children: tuple[Node, ...]) -> None:
        super().__init__(text, children, any_of=True)

    def collect(self, doc: Analyzed, mask: int, hits: Hits, label: str | None) -> None:
        super().collect(doc, mask, hits, label or self.text)

    def collect_at(
        self, doc: Analyzed, stream: int, allowed: set[int], hits: Hits, label: str | None
    ) -> None:
        super().collect_at(doc, stream, allowed, hits, label or self.text)


class Not(Node):
    """``NOT x`` / ``-x``: the article must not match x."""

    __slots__ = ("child",)

    def __init__(self, text: str, child: Node) -> None:
        super().__init__(text)
        self.child = child

    def test(self, doc: Analyzed, mask: int) -> bool:
        return not self.child.test(doc, mask)

    def collect(self, doc: Analyzed, mask: int, hits: Hits, label: str | None) -> None:
        return None


class Field(Node):
    """``title:x`` / ``body:x``: x is only looked for in that part of the article."""

    __slots__ = ("bit", "child", "positional")

    def __init__(self, text: str, bit: int, child: Node) -> None:
        super().__init__(text)
        self.bit = bit
        self.child = child
        self.positional = child.positional

    def test(self, doc: Analyzed, mask: int) -> bool:
        inner = mask & self.bit
        return bool(inner) and self.child.test(doc, inner)

    def collect(self, doc: Analyzed, mask: int, hits: Hits, label: str | None) -> None:
        inner = mask & self.bit
        if inner:
            self.child.collect(doc, inner, hits, label)

    def spans(self, doc: Analyzed, stream: int) -> list[Span]:
        return self.child.spans(doc, stream) if BITS[stream] & self.bit else []

    def collect_at(
        self, doc: Analyzed, stream: int, allowed: set[int], hits: Hits, label: str | None
    ) -> None:
        if BITS[stream] & self.bit:
            self.child.collect_at(doc, stream, allowed, hits, label)


class Meta(Node):
    """``site:``, ``url:``, ``source:``, ``tag:``, ``lang:``: the article's metadata.

    ``values`` are alternatives, already folded; a trailing ``*`` in one makes it a prefix.
    """

    __slots__ = ("field", "values")

    def __init__(self, text: str, field: str, values: tuple[str, ...]) -> None:
        super().__init__(text)
        self.field = field
        self.values = values

    def test(self, doc: Analyzed, mask: int = BOTH) -> bool:
        return any(self._one(doc, value) for value in self.values)

    def _one(self, doc: Analyzed, value: str) -> bool:
        field = self.field
        if field == "url":
            return value.rstrip("*") in doc.url
        if field == "site":
            site = doc.site
            if value.endswith("*"):
                return site.startswith(value[:-1])
            return site == value or site.endswith("." + value)
        have: Iterable[str] = (
            doc.tags if field == "tag" else (doc.source,) if field == "source" else (doc.lang,)
        )
        if value.endswith("*"):
            return any(h.startswith(value[:-1]) for h in have if h)
        return value in have

    def collect(self, doc: Analyzed, mask: int, hits: Hits, label: str | None) -> None:
        hits.add(label or self.text, self.field)
