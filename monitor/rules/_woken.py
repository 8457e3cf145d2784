"""``WokenCache``: which clause bits each chunk of article text wakes, kept across rule changes.

The index works out, on first sight of a chunk, the bits of the clauses it satisfies
(see ``_Table.woken_by``), and remembers them per tuple of article languages. Adding or
removing a rule does not empty that memory: only the chunks that may wake one of the
rule's anchors are forgotten, found through the vocabulary, which knows every chunk an
article has offered. They are worked out again on next sight, against the tables as
they are then; every other chunk's bits are unchanged by the rule.
"""

from __future__ import annotations

from collections.abc import Iterable

from monitor.rules._analysis import query_keys
from monitor.rules._presearch import Clause
from monitor.rules._vocabulary import Vocabulary


class WokenCache:
    """Per tuple of article languages: chunk -> the clause bits it wakes up."""

    __slots__ = ("_generation", "_vocabulary", "by_langs")

    def __init__(self, vocabulary: Vocabulary) -> None:
        self._vocabulary = vocabulary
        self.by_langs: dict[tuple[str, ...], dict[str, tuple[int, ...]]] = {}
        # The vocabulary's generation the chunks were registered in: after an emptying
        # it no longer knows them, and could not say which to forget.
        self._generation: int | None = None

    def for_article(self, langs: tuple[str, ...], generation: int) -> dict[str, tuple[int, ...]]:
        """The cache for an article read with ``langs``, analysed in ``generation``."""
        if generation != self._generation:
            self.by_langs.clear()
            self._generation = generation
        cache = self.by_langs.get(langs)
        if cache is None:
            cache = self.by_langs[langs] = {}
        return cache

    def forget(self, clauses: Iterable[Clause]) -> None:
        """Drop every chunk that may wake an anchor of ``clauses``."""
        if not self.by_langs:
            return
        generation = self._generation
        if generation is None or not self._vocabulary.is_current(generation):
            self.by_langs.clear()
            return
        clauses = tuple(clauses)
        for langs, cache in self.by_langs.items():
            waking = self._waking(clauses, langs)
            if waking is None:
                self.by_langs.clear()
                return
            for chunk in waking:
                cache.pop(chunk, None)
        if not self._vocabulary.is_current(generation):  # emptied meanwhile, by a peer
            self.by_langs.clear()

    def _waking(self, clauses: tuple[Clause, ...], langs: tuple[str, ...]) -> set[str] | None:
        """The registered chunks holding an anchor of ``clauses`` (None: cannot tell)."""
        vocabulary = self._vocabulary
        found: set[str] = set()
        for clause in clauses:
            for kind, value, _ in clause:
                if kind == "w":  # by the keys _Table.woken_by matches it with
                    for lang in langs:
                        for key in query_keys(lang, value):
                            found.update(vocabulary.with_key(lang, key))
                elif kind == "x":
                    found.update(vocabulary.with_form(value))
                elif kind == "p":
                    if len(value) < 2:  # the vocabulary watches prefixes of 2+ letters
                        return None
                    found.update(vocabulary.with_prefix(value))
                # "m": metadata is looked up per article, never cached per chunk.
        return found
