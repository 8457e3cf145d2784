"""Query nodes that combine others: phrases, proximity, AND/OR, NOT, fields, metadata.

See _nodes for what every node answers; the one-word nodes live in _leaves and are
re-exported here so that the parser and the index find every node in one place.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
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
        # Loops, not all()/any() over generators (hence the noqa): tests run tens of
        # times an article, and a generator costs a frame each time (eval -10% at 100k
        # rules in bench/rules.py).
        for item in self.items:
            if not item.test(doc, mask):
                return False
        for stream in STREAMS[mask]:  # noqa: SIM110
            if self.spans(doc, stream):
                return True
        return False

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
    """A proximity chain: ``a NEAR/n b NEAR/m c`` (``ONEAR``: in the written order).

    NEAR: one stretch of a stream holds every member, and at most n + m + … of its
    words are none of them (two members: at most n words between them, in either
    order). ONEAR: the members in order, at most n words between a and b, m between b
    and c. Both are found in one pass over the members' positions sorted together (a
    sliding window for NEAR, a walk member by member for ONEAR), so the cost grows with
    the article, never with the number of ways the members combine.
    """

    __slots__ = ("distances", "members", "ordered", "pair", "same")

    def __init__(
        self, text: str, members: tuple[Node, ...], distances: tuple[int, ...], ordered: bool
    ) -> None:
        super().__init__(text)
        self.members = members
        self.distances = distances
        self.ordered = ordered
        # Members written alike ("a NEAR/5 a NEAR/5 a": three a's) count as one term
        # needed that many times.
        self.same = tuple(
            next(j for j, other in enumerate(members) if other.text == m.text) for m in members
        )
        # Two different words ("Amazon NEAR/5 licenciements", the common chain), each
        # perhaps with its synonyms ("licenciements" OR "layoffs"): their positions
        # alone tell whether they are close, without spans or windows (the windows
        # were 75 µs a rule on a news article).
        self.pair: tuple[tuple[WordLike, ...], tuple[WordLike, ...]] | None = None
        if len(members) == 2 and self.same == (0, 1):
            first, second = map(_single_words, members)
            if first and second:
                self.pair = (first, second)

    def test(self, doc: Analyzed, mask: int) -> bool:
        for member in self.members:  # loops: see Phrase.test
            if not member.test(doc, mask):
                return False
        for stream in STREAMS[mask]:  # noqa: SIM110
            if self._near(doc, stream):
                return True
        return False

    def _near(self, doc: Analyzed, stream: int) -> bool:
        pair = self.pair
        if pair is not None:
            first, second = pair
            # Words sharing a chunk ("Amazon NEAR/3 Amazon*") are left to the windows,
            # which count a word once whatever members it stands for.
            if _chunks_of(first, doc, stream).isdisjoint(_chunks_of(second, doc, stream)):
                return _close(
                    _positions_of(first, doc, stream),
                    _positions_of(second, doc, stream),
                    self.distances[0],
                    self.ordered,
                )
        return bool(self._find(doc, stream, first=True))

    def spans(self, doc: Analyzed, stream: int) -> list[Span]:
        return self._find(doc, stream, first=False)

    def _find(self, doc: Analyzed, stream: int, first: bool) -> list[Span]:
        key = (self, stream)
        known = doc.near_memo.get(key)
        if known is not None:
            return known
        found = [_member_spans(member, doc, stream) for member in self.members]
        if not all(found):
            spans: list[Span] = []
        elif self.ordered:
            spans = _in_order(found, self.distances)
        else:
            spans = _together(found, self.distances, first, self.same)
            if first:
                return spans  # only the first: not the answer to remember
        doc.near_memo[key] = spans
        return spans

    def collect_at(
        self, doc: Analyzed, stream: int, allowed: set[int], hits: Hits, label: str | None
    ) -> None:
        at: set[int] = set()
        for _, _, words in self.spans(doc, stream):
            at |= words & allowed
        if at:
            for member in self.members:
                member.collect_at(doc, stream, at, hits, label)

    def collect(self, doc: Analyzed, mask: int, hits: Hits, label: str | None) -> None:
        for stream in STREAMS[mask]:
            at: set[int] = set()
            for _, _, words in self.spans(doc, stream):
                at |= words
            if at:
                for member in self.members:
                    member.collect_at(doc, stream, at, hits, label)


def _single_words(member: Node) -> tuple[WordLike, ...]:
    """The one-word matchers ``member`` is, when it is one word or an OR of such
    (a word and its synonyms): each span of it is then one word. () otherwise."""
    if isinstance(member, WordLike):
        return (member,)
    if isinstance(member, Group) and member.any_of:
        words = tuple(child for child in member.children if isinstance(child, WordLike))
        if len(words) == len(member.children):
            return words
    return ()


def _chunks_of(words: tuple[WordLike, ...], doc: Analyzed, stream: int) -> frozenset[str]:
    if len(words) == 1:
        return words[0].chunks(doc)[stream]
    return frozenset().union(*(word.chunks(doc)[stream] for word in words))


def _positions_of(words: tuple[WordLike, ...], doc: Analyzed, stream: int) -> list[int]:
    if len(words) == 1:
        return words[0].positions(doc, stream)
    # Two synonyms may accept the same chunk: each position once.
    return sorted(set().union(*(word.positions(doc, stream) for word in words)))


def _close(first: list[int], second: list[int], gap: int, ordered: bool) -> bool:
    """Whether a position of ``second`` lies at most ``gap`` words from one of ``first``
    (sorted lists, no position in both): after it for ONEAR, on either side for NEAR.
    What _in_order and _together find for two such members: the closest two of their
    positions have only other words between them."""
    if not first:
        return False
    last = len(first)
    for at in second:
        before = bisect_left(first, at)
        if before and at - first[before - 1] - 1 <= gap:
            return True
        if not ordered:
            after = bisect_right(first, at, before)
            if after < last and first[after] - at - 1 <= gap:
                return True
    return False


def _member_spans(member: Node, doc: Analyzed, stream: int) -> list[Span]:
    if isinstance(member, Near):
        return member.spans(doc, stream)
    key = (member, stream)
    known = doc.near_memo.get(key)
    if known is None:
        known = doc.near_memo[key] = member.spans(doc, stream)
    return known


def _in_order(found: list[list[Span]], distances: tuple[int, ...]) -> list[Span]:
    """ONEAR: chains of one span per member, each starting after the previous one ends
    with at most its distance of words between them."""
    # Reachable chains by the end of their last span: (first start, words).
    reach: dict[int, tuple[int, frozenset[int]]] = {}
    for start, end, words in found[0]:
        best = reach.get(end)
        if best is None or start > best[0]:
            reach[end] = (start, words)
    for spans, gap in zip(found[1:], distances, strict=True):
        ends = sorted(reach)
        step: dict[int, tuple[int, frozenset[int]]] = {}
        for start, end, words in spans:
            # The chain ending closest before this span is the one that can reach it.
            i = bisect_right(ends, start - 1)
            if i == 0 or ends[i - 1] < start - 1 - gap:
                continue
            first, chained = reach[ends[i - 1]]
            best = step.get(end)
            if best is None or first > best[0]:
                step[end] = (first, chained | words)
        if not step:
            return []
        reach = step
    return [(first, end, words) for end, (first, words) in sorted(reach.items())]


def _together(
    found: list[list[Span]], distances: tuple[int, ...], first: bool, same: tuple[int, ...]
) -> list[Span]:
    """NEAR: the stretches holding every member with at most ``sum(distances)`` words
    that belong to none of them, merged where they overlap (``first``: only the first
    one, enough to know the chain matches). ``same[i]``: the first member written like
    member i; a term written twice needs two occurrences."""
    need = [0] * len(found)
    for kind in same:
        need[kind] += 1
    events = sorted(
        (start, end, words, member)
        for member, spans in enumerate(found)
        if same[member] == member
        for start, end, words in spans
    )
    budget, size = sum(distances), len(found)
    counts = [0] * size
    covered: dict[int, int] = {}
    missing = size
    ends: deque[int] = deque()  # window indices by decreasing end: the stretch's end
    left = 0
    windows: list[tuple[int, int]] = []
    for right, (_, end, words, member) in enumerate(events):
        missing -= counts[member] < need[member]
        counts[member] += 1
        for at in words:
            covered[at] = covered.get(at, 0) + 1
        while ends and events[ends[-1]][1] <= end:
            ends.pop()
        ends.append(right)
        # Drop members seen again further right: the stretch only gets shorter.
        while counts[events[left][3]] > need[events[left][3]]:
            _leave(events[left], counts, covered)
            left += 1
            while ends[0] < left:
                ends.popleft()
        if missing:
            continue
        start, last = events[left][0], events[ends[0]][1]
        # Distinct words at least one per member: one word cannot stand for two of them.
        if len(covered) >= size and last - start + 1 - len(covered) <= budget:
            windows.append((start, last))
            if first:
                break
    return _merged(windows, events)


def _leave(
    event: tuple[int, int, frozenset[int], int], counts: list[int], covered: dict[int, int]
) -> None:
    counts[event[3]] -= 1
    for at in event[2]:
        left = covered[at] - 1
        if left:
            covered[at] = left
        else:
            del covered[at]


def _merged(
    windows: list[tuple[int, int]], events: list[tuple[int, int, frozenset[int], int]]
) -> list[Span]:
    """Overlapping stretches as one span, with the member words inside it."""
    regions: list[list[int]] = []
    for first, last in sorted(windows):
        if regions and first <= regions[-1][1]:
            regions[-1][1] = max(regions[-1][1], last)
        else:
            regions.append([first, last])
    out: list[Span] = []
    i = 0
    for first, last in regions:
        while i < len(events) and events[i][0] < first:
            i += 1
        words: set[int] = set()
        j = i
        while j < len(events) and events[j][0] <= last:
            if events[j][1] <= last:
                words |= events[j][2]
            j += 1
        out.append((first, last, frozenset(words)))
    return out


class Group(Node):
    """Children combined by OR (``any_of``) or by AND."""

    __slots__ = ("any_of", "children", "positional")

    def __init__(self, text: str, children: tuple[Node, ...], any_of: bool) -> None:
        super().__init__(text)
        self.children = children
        self.any_of = any_of
        self.positional = any_of and all(c.positional for c in children)

    def test(self, doc: Analyzed, mask: int) -> bool:
        # Loops: see Phrase.test.
        if self.any_of:
            for child in self.children:  # noqa: SIM110
                if child.test(doc, mask):
                    return True
            return False
        for child in self.children:  # noqa: SIM110
            if not child.test(doc, mask):
                return False
        return True

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
