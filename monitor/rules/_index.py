"""``RuleIndex``: a presearcher, so each article is checked only against rules it could match.

The idea is Lucene Monitor's: from each query, derive clauses an article must satisfy
for the query to have any chance (see _presearch), and file the rule under the words of
those clauses. Here a rule is filed under its three cheapest clauses (its cheapest
twice when it has only one, none on the third side when it has two), and is a
candidate only when the article satisfies all of them: a rule such as
``Amazon licenciements`` is then checked only on articles holding both words, not on
every article that mentions Amazon, and ``Amazon "intelligence artificielle"`` only on
those holding all three. Candidates are evaluated by the very code brute
force uses; clauses being necessary, never sufficient, the answers are the same as
evaluating every rule, and only the work differs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce
from operator import attrgetter, itemgetter, or_

from monitor.rules._analysis import chunk_words, query_keys, text_keys
from monitor.rules._analyzed import BOTH, Analyzed, evaluate_fresh
from monitor.rules._model import Document, Match
from monitor.rules._presearch import Clause, cheapest, required, sufficient
from monitor.rules._query import Query
from monitor.rules._vocabulary import Vocabulary
from monitor.rules._woken import WokenCache
from monitor.text import collector_paused

# Chunks that wake nothing cost an empty tuple; those that do, two masks of up to one
# bit per rule, hence a bound well below the vocabulary's.
_CHUNK_CACHE_LIMIT = 100_000

# (first, second, third): the slot bits of the rules whose cheapest clause, second
# cheapest and third cheapest an anchor (or a chunk) satisfies; () for a chunk that
# satisfies none.
Woken = tuple[int, ...]
# A third clause cuts the candidates by a third at 100k rules (the bench's phrases,
# three-word rules and metadata filters); a fourth would mostly cost its ORs.
SIDES = 3


@dataclass(frozen=True, slots=True)
class _Entry:
    rule_id: str
    query: Query
    clauses: tuple[Clause, ...]  # the (up to) three cheapest, () when it needs nothing
    sure: bool  # those clauses are all the rule asks: a candidate is a match
    seq: int  # order of addition
    slot: int  # bit of the rule in the tables' masks


class _Table:
    """Rules filed by their clauses: anchor -> (first, second, third), bit masks (ints).

    Rule slot k owns bit k of the first mask for its cheapest clause, of the second for
    its second cheapest and of the third for its third, so an article ORs together,
    side by side, the masks its words wake up and keeps the slots set in all three: a
    few big-integer operations in C instead of a set per word. (One mask with bits 3k
    to 3k+2 would be three times as wide for the shifts, the ANDs and the bit scan that
    follow the ORs.)
    """

    def __init__(self) -> None:
        self.words: dict[str, Woken] = {}
        self.by_lang: dict[str, dict[str, Woken]] = {}
        self.exact: dict[str, Woken] = {}
        self.prefix: dict[str, Woken] = {}
        # Length -> how many prefixes of that length are filed: a word looks up its own
        # first letters once per length in use (a handful), never each prefix in turn
        # (thousands at 100k rules).
        self.prefix_lengths: dict[int, int] = {}
        self.meta: dict[str, Woken] = {}

    def file_many(self, filed: Iterable[tuple[Clause, int, int]]) -> None:
        """File each (clause, side, slot); each key's masks are built once from all their
        bits, instead of one big-integer copy per rule (quadratic for a word 5,000 rules
        of 100k are filed under)."""
        bits: dict[tuple[str, str], tuple[list[int], ...]] = {}
        for clause, side, slot in filed:
            for kind, value, _ in clause:
                found = bits.get((kind, value))
                if found is None:
                    found = bits[kind, value] = tuple([] for _ in range(SIDES))
                found[side].append(slot)
        for (kind, value), slots in bits.items():
            masks = tuple(map(_mask_of, slots))
            if kind == "p" and value not in self.prefix:
                self.prefix_lengths[len(value)] = self.prefix_lengths.get(len(value), 0) + 1
            _set(self._kind(kind), value, masks)
            if kind == "w":
                for lang, table in self.by_lang.items():
                    for key in query_keys(lang, value):
                        _set(table, key, masks)

    def unfile(self, clause: Clause, side: int, bit: int) -> None:
        for kind, value, _ in clause:
            _clear(self._kind(kind), value, side, bit)
            if kind == "w":
                for lang, table in self.by_lang.items():
                    for key in query_keys(lang, value):
                        _clear(table, key, side, bit)
            elif kind == "p" and value not in self.prefix:
                left = self.prefix_lengths[len(value)] - 1
                if left:
                    self.prefix_lengths[len(value)] = left
                else:
                    del self.prefix_lengths[len(value)]

    def woken_by(self, chunk: str, langs: tuple[str, ...]) -> Woken:
        """The clause bits one chunk of article text wakes up."""
        # The masks found are ORed once at the end: an OR with a big mask copies it,
        # and most keys of a chunk find nothing.
        found: list[Woken] = []
        tables = [self._lang(lang) for lang in langs]
        exact, prefixes, lengths = self.exact, self.prefix, self.prefix_lengths
        for _, _, low, folded in chunk_words(chunk):
            for lang, table in zip(langs, tables, strict=True):
                found += filter(None, map(table.get, text_keys(lang, low)))
            mask = exact.get(folded)
            if mask:
                found.append(mask)
            for length in lengths:
                mask = prefixes.get(folded[:length]) if length <= len(folded) else None
                if mask:
                    found.append(mask)
        return _joined(found)

    def _kind(self, kind: str) -> dict[str, Woken]:
        return {"w": self.words, "x": self.exact, "p": self.prefix, "m": self.meta}[kind]

    def _lang(self, lang: str) -> dict[str, Woken]:
        # Stem keys depend on the article's language, so each language's table is built
        # the first time an article in it arrives, then kept up to date by file/unfile.
        table = self.by_lang.get(lang)
        if table is None:
            table = {}
            for lower, masks in self.words.items():
                for key in query_keys(lang, lower):
                    _set(table, key, masks)
            self.by_lang[lang] = table
        return table


class RuleIndex:
    """Rules filed by the words they need; ``match`` equals evaluating every rule.

    Articles are analysed against ``vocabulary`` (one of its own by default), which
    ``match`` may share between threads. Not thread-safe otherwise: add and remove rules
    from one thread, or guard the index.
    """

    def __init__(self, vocabulary: Vocabulary | None = None) -> None:
        self._vocabulary = Vocabulary() if vocabulary is None else vocabulary
        self._rules: dict[str, _Entry] = {}
        self._by_slot: dict[int, _Entry] = {}
        self._free: list[int] = []  # slots of removed rules, reused so masks stay short
        # Slots in the order rules were added, until one is reused: candidates found by
        # slot then need no sorting.
        self._in_order = True
        self._seq = 0
        self._always = 0
        # Rules filed under fewer than three clauses: their third side is always awake.
        self._no_third = 0
        self._table = _Table()
        # Per article languages: chunk -> the clause bits it wakes up; a rule added or
        # removed only drops the chunks that hold its anchors.
        self._woken = WokenCache(self._vocabulary)

    @property
    def vocabulary(self) -> Vocabulary:
        """The vocabulary this index analyses articles against."""
        return self._vocabulary

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def add(self, rule_id: str, query: Query) -> None:
        """File ``query`` under ``rule_id``, replacing any rule with that id."""
        self._table.file_many(self._enter(rule_id, query))

    def add_many(self, rules: Iterable[tuple[str, Query]]) -> None:
        """``add`` each (rule_id, query) in order, filing them all at once: what
        building an index of 100k rules calls."""
        filed: list[tuple[Clause, int, int]] = []
        pending: set[str] = set()  # ids entered but not filed yet
        # One full collection after: see collector_paused (330 against 640 articles/s
        # at 30k rules, same run, without it).
        with collector_paused(collect_after=True):
            try:
                for rule_id, query in rules:
                    if rule_id in pending:
                        # Replaced within the batch: the first must be filed before it
                        # is unfiled, or its anchors would wake the slot's next owner.
                        self._table.file_many(filed)
                        filed, pending = [], set()
                    pending.add(rule_id)
                    filed += self._enter(rule_id, query)
            finally:
                # Rules entered before ``rules`` failed are filed too: entered but not
                # filed, they would never be candidates.
                self._table.file_many(filed)

    def _enter(self, rule_id: str, query: Query) -> list[tuple[Clause, int, int]]:
        """Give ``rule_id`` a slot; the (clause, side, slot) to file it under."""
        self.remove(rule_id)
        needed = required(query._root)
        best = cheapest(needed, SIDES)
        # One clause goes on the first two sides, so that its anchors alone make it a
        # candidate; a side left without a clause is always awake (``_no_third``).
        clauses = tuple(best) if len(best) != 1 else (best[0], best[0])
        self._woken.forget(clauses)
        # Every distinct clause filed: nothing else to check for words joined by AND.
        sure = bool(best) and len(set(needed)) <= SIDES and sufficient(query._root)
        self._seq += 1
        if self._free:
            slot = self._free.pop()
            self._in_order = False
        else:
            slot = len(self._by_slot)
        self._rules[rule_id] = self._by_slot[slot] = _Entry(
            rule_id, query, clauses, sure, self._seq, slot
        )
        if not clauses:
            self._always |= 1 << slot
        elif len(clauses) < SIDES:
            self._no_third |= 1 << slot
        return [(clause, side, slot) for side, clause in enumerate(clauses)]

    def remove(self, rule_id: str) -> None:
        """Forget the rule ``rule_id``; unknown ids are ignored."""
        entry = self._rules.pop(rule_id, None)
        if entry is None:
            return
        self._woken.forget(entry.clauses)
        del self._by_slot[entry.slot]
        self._free.append(entry.slot)
        self._always &= ~(1 << entry.slot)
        self._no_third &= ~(1 << entry.slot)
        for side, clause in enumerate(entry.clauses):
            self._table.unfile(clause, side, 1 << entry.slot)

    def match(self, doc: Document, *, explained: bool = False) -> dict[str, Match]:
        """rule_id -> Match for every rule that matches ``doc``, in the order rules were added.

        A match works out its terms, snippet and words when first read, from a new
        analysis of the article (it must not keep the one the rules read). ``explained``
        works them all out now, from that one, for a caller that reads every match at
        once: one analysis of the article instead of two.
        """
        if not explained:
            return evaluate_fresh(doc, self._vocabulary, self._match_candidates)
        return evaluate_fresh(doc, self._vocabulary, self._explained_candidates)

    def _explained_candidates(self, doc: Analyzed) -> dict[str, Match]:
        found = self._match_candidates(doc)
        if found:
            doc.later.explain_now(found.values(), doc)
        return found

    def match_brute_force(self, doc: Document) -> dict[str, Match]:
        """The same answer as :meth:`match`, by evaluating every rule (the reference)."""
        return evaluate_fresh(doc, self._vocabulary, self._match_all)

    def _match_candidates(self, doc: Analyzed) -> dict[str, Match]:
        # A candidate whose clauses are all it asks (see _presearch.sufficient) matches
        # without a test: the one shortcut brute force does not take, checked against
        # it by the tests and the bench.
        found: dict[str, Match] = {}
        for entry in self._candidates(doc):
            query = entry.query
            match = query._explained(doc) if entry.sure else query._evaluate(doc)
            if match is not None:
                found[entry.rule_id] = match
        return found

    def _match_all(self, doc: Analyzed) -> dict[str, Match]:
        return _evaluated(self._rules.values(), doc)

    def _candidates(self, doc: Analyzed) -> list[_Entry]:
        # Which rules each distinct chunk of text wakes up is remembered until the rules
        # change, so an article mostly costs one dictionary probe per distinct chunk and
        # a few big-integer operations.
        cache = self._woken.for_article(doc.langs, doc.generation)
        chunks = doc.in_mask[BOTH]
        # Chunks this index has not met yet, found in C (nearly every article brings a
        # few): only they are worked out, and the others' masks read in one map.
        new = chunks.difference(cache)
        if new and len(cache) + len(new) > _CHUNK_CACHE_LIMIT:
            cache.clear()
            new = chunks
        woken_by = self._table.woken_by
        for chunk in new:
            cache[chunk] = woken_by(chunk, doc.langs)
        found = list(filter(None, map(cache.get, chunks)))
        if self._table.meta:
            found += filter(None, map(self._table.meta.get, _meta_keys(doc)))
        woken = _joined(found)
        # Bit k is set in all three masks when rule slot k has all its clauses woken.
        every = woken[0] & woken[1] & (woken[2] | self._no_third) if woken else 0
        by_slot = self._by_slot
        entries = [by_slot[slot] for slot in _bits(every | self._always)]
        if not self._in_order:
            entries.sort(key=_SEQ)
        return entries


_SEQ = attrgetter("seq")


def _evaluated(entries: Iterable[_Entry], doc: Analyzed) -> dict[str, Match]:
    found: dict[str, Match] = {}
    for entry in entries:
        match = entry.query._evaluate(doc)
        if match is not None:
            found[entry.rule_id] = match
    return found


def _joined(found: list[Woken]) -> Woken:
    """The masks of ``found`` ORed side by side; () when there are none."""
    if not found:
        return ()
    if len(found) == 1:
        return found[0]
    # Zero sides are left out, and the first mask is not ORed with 0: an OR copies its
    # wider operand even when the other is 0.
    return tuple(_or_all(list(filter(None, map(side, found)))) for side in _SIDE)


def _or_all(masks: list[int]) -> int:
    return reduce(or_, masks) if masks else 0


_SIDE = tuple(itemgetter(i) for i in range(SIDES))


def _bits(mask: int) -> list[int]:
    """The positions of the set bits of ``mask``, lowest first.

    A mask holds a bit per rule, most of them clear: its bytes are flagged non-zero by
    one ``translate`` and found by ``find`` (both memchr-fast, in C), so Python only
    looks at the few bytes that hold a bit.
    """
    data = mask.to_bytes((mask.bit_length() + 7) // 8, "little")
    flags = data.translate(_NONZERO)
    found: list[int] = []
    at = flags.find(1)
    while at >= 0:
        base = at * 8
        found += [base + bit for bit in _BYTE_BITS[data[at]]]
        at = flags.find(1, at + 1)
    return found


_NONZERO = bytes([0] + [1] * 255)
_BYTE_BITS = [tuple(bit for bit in range(8) if byte >> bit & 1) for byte in range(256)]


def _mask_of(positions: list[int]) -> int:
    """The mask with these bits set, in time linear in its size."""
    if len(positions) < 16:
        return reduce(or_, (1 << position for position in positions), 0)
    buffer = bytearray(max(positions) // 8 + 1)
    for position in positions:
        buffer[position >> 3] |= 1 << (position & 7)
    return int.from_bytes(buffer, "little")


def _set(table: dict[str, Woken], key: str, masks: Woken) -> None:
    had = table.get(key)
    table[key] = masks if had is None else tuple(map(or_, had, masks))


def _clear(table: dict[str, Woken], key: str, side: int, bit: int) -> None:
    had = table.get(key)
    if had is None:
        return
    masks = tuple(mask & ~bit if i == side else mask for i, mask in enumerate(had))
    if any(masks):
        table[key] = masks
    else:
        del table[key]


def _meta_keys(doc: Analyzed) -> list[str]:
    keys = [f"source={doc.source}", f"lang={doc.lang}"]
    keys += (f"tag={tag}" for tag in doc.tags)
    parts = doc.site.split(".")
    keys += (f"site={'.'.join(parts[i:])}" for i in range(len(parts)))
    return keys
