"""The parsed form of a query, and how each part reads an analysed article.

Every node answers ``test`` (does it match, within the title and/or body bits of
``mask``) as cheaply as it can, because the index and brute force both call it for
each candidate rule. Only when a whole rule has matched does ``collect`` walk the
parts that actually matched, to say which terms matched where and which words to
highlight. Nodes that have word positions (words, phrases, proximity, OR groups of
those) also answer ``spans``: the word ranges where they occur in one stream.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable

from monitor.rules._analysis import chunk_words, query_keys
from monitor.rules._analyzed import (
    BITS,
    BODY,
    BOTH,
    FORM_CHUNKS,
    KEY_CHUNKS,
    TITLE,
    Analyzed,
    prefix_chunks,
)

# (first word, last word, positions of the words that matched), in one stream.
Span = tuple[int, int, frozenset[int]]
STREAM_NAMES = ("title", "body")
_STREAMS = {1: (0,), 2: (1,), 3: (0, 1)}


class Hits:
    """What matched: term (as written) -> fields, and what to highlight per stream.

    Highlights are chunk positions (from phrases and proximity, which know them) or
    chunks (from single words: every occurrence is highlighted, and the snippet finds
    the ones it shows without the whole text being searched).
    """

    __slots__ = ("chunks", "fields", "positions", "runs")

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}
        self.positions: tuple[set[int], set[int]] = (set(), set())
        self.chunks: tuple[set[str], set[str]] = (set(), set())
        # Phrases found, as (first, last) positions: highlighted as one stretch.
        self.runs: tuple[list[tuple[int, int]], list[tuple[int, int]]] = ([], [])

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
            for first, last, words in at:
                positions |= words
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
        """Record the parts of this node found at ``allowed`` word positions of ``stream``."""
        found = []
        for first, last, at in self.spans(doc, stream):
            inside = at & allowed
            if inside:
                found.append((first, last, inside))
        if found:
            hits.add(label or self.text, STREAM_NAMES[stream], stream, found)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text!r})"


class _Positional(Node):
    __slots__ = ()
    positional = True

    def collect(self, doc: Analyzed, mask: int, hits: Hits, label: str | None) -> None:
        for stream in _STREAMS[mask]:
            found = self.spans(doc, stream)
            if found:
                hits.add(label or self.text, STREAM_NAMES[stream], stream, found)


class _WordLike(_Positional):
    """A one-word matcher: which of the article's chunks it accepts."""

    __slots__ = ("memo_key",)
    memo_key: tuple[str, object]

    def chunks(self, doc: Analyzed) -> tuple[frozenset[str], frozenset[str]]:
        """The matching chunks in the title and in the body."""
        found = doc.memo.get(self.memo_key)
        if found is None:
            found = doc.memo[self.memo_key] = doc.split(self._candidates(doc))
        return found

    def _candidates(self, doc: Analyzed) -> Iterable[str]:
        raise NotImplementedError

    def positions(self, doc: Analyzed, stream: int) -> list[int]:
        if not self.test(doc, BITS[stream]):
            return []
        return doc.positions(stream, self.chunks(doc)[stream])

    def spans(self, doc: Analyzed, stream: int) -> list[Span]:
        return [(p, p, frozenset((p,))) for p in self.positions(doc, stream)]

    def collect(self, doc: Analyzed, mask: int, hits: Hits, label: str | None) -> None:
        # One pass over the article's matching chunks serves both fields.
        for stream, chunks in enumerate(self.chunks(doc)):
            if chunks and BITS[stream] & mask:
                hits.add(label or self.text, STREAM_NAMES[stream], stream, chunks=chunks)


class Word(_WordLike):
    """An unquoted word: any inflection sharing its stem in the article's language."""

    __slots__ = ("_keys", "folded", "lower")

    def __init__(self, text: str, lower: str, folded: str) -> None:
        super().__init__(text)
        self.lower = lower
        self.folded = folded
        self._keys: dict[str, tuple[str, ...]] = {}
        self.memo_key = ("w", lower)

    def keys(self, lang: str) -> tuple[str, ...]:
        hit = self._keys.get(lang)
        if hit is None:
            hit = self._keys[lang] = query_keys(lang, self.lower)
        return hit

    def test(self, doc: Analyzed, mask: int) -> bool:
        for lang in doc.langs:
            for key in self.keys(lang):
                if doc.has_key(lang, key, mask):
                    return True
        return False

    def _candidates(self, doc: Analyzed) -> Iterable[str]:
        found: set[str] = set()
        for lang in doc.langs:
            table = KEY_CHUNKS[lang]
            for key in self.keys(lang):
                found.update(table.get(key, ()))
        return found


class Exact(_WordLike):
    """A quoted word: this exact form, case and accents aside."""

    __slots__ = ("folded",)

    def __init__(self, text: str, folded: str) -> None:
        super().__init__(text)
        self.folded = folded
        self.memo_key = ("x", folded)

    def test(self, doc: Analyzed, mask: int) -> bool:
        return doc.has_form(self.folded, mask)

    def _candidates(self, doc: Analyzed) -> Iterable[str]:
        return FORM_CHUNKS.get(self.folded, ())


class Prefix(_WordLike):
    """``word*``: any word starting with these letters, case and accents aside."""

    __slots__ = ("prefix",)

    def __init__(self, text: str, prefix: str) -> None:
        super().__init__(text)
        self.prefix = prefix
        self.memo_key = ("p", prefix)

    def test(self, doc: Analyzed, mask: int) -> bool:
        return not doc.in_mask[mask].isdisjoint(prefix_chunks(self.prefix))

    def _candidates(self, doc: Analyzed) -> Iterable[str]:
        return prefix_chunks(self.prefix)


class Unit(_WordLike):
    """Words written as one ("aujourd'hui"): a chunk holding exactly these words."""

    __slots__ = ("folded",)

    def __init__(self, text: str, folded: tuple[str, ...]) -> None:
        super().__init__(text)
        self.folded = folded
        self.memo_key = ("u", folded)

    def test(self, doc: Analyzed, mask: int) -> bool:
        title, body = self.chunks(doc)
        return bool((mask & TITLE and title) or (mask & BODY and body))

    def _candidates(self, doc: Analyzed) -> Iterable[str]:
        return [
            chunk
            for chunk in FORM_CHUNKS.get(self.folded[0], ())
            if tuple(w[3] for w in chunk_words(chunk)) == self.folded
        ]


class Phrase(_Positional):
    """Words that must follow one another, in the same stream."""

    __slots__ = ("items",)

    def __init__(self, text: str, items: tuple[_WordLike, ...]) -> None:
        super().__init__(text)
        self.items = items

    def test(self, doc: Analyzed, mask: int) -> bool:
        if not all(item.test(doc, mask) for item in self.items):
            return False
        return any(self.spans(doc, stream) for stream in _STREAMS[mask])

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


class Near(_Positional):
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
        return any(self.spans(doc, stream) for stream in _STREAMS[mask])

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
        for stream in _STREAMS[mask]:
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
