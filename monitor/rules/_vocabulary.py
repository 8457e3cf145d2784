"""``Vocabulary``: every chunk of article text seen so far, inverted for the rules to look up.

An article is cut into chunks (see _analyzed). The vocabulary remembers, for every chunk
it has been given, which folded words and which stem keys it offers, inverted: key ->
chunks. A rule word then asks "does the article hold one of the chunks that offer my
key?", one ``isdisjoint`` between two small sets. News vocabulary repeats far more than
it varies, so nearly every chunk of a new article is already there.

A vocabulary belongs to whoever analyses articles against it (a ``RuleIndex``, or a
``Query`` matched on its own), never to the process. It is bounded: when full it is
emptied whole and its generation bumped, so an analysis made before that can tell it is
stale (``is_current``) and be redone.

Threads: articles are matched in worker threads, so every change happens under the
lock, while lookups read the tables without it. That holds because a table is only ever
added to or emptied in place, never rebound: a reader sees the old content or the new,
and a reader caught by an emptying finds out through ``is_current``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from collections.abc import Set as AbstractSet

from monitor.rules._analysis import chunk_words, text_keys

LIMIT = 100_000
# What a lookup that finds nothing returns, so callers test one kind of set.
_NOTHING: frozenset[str] = frozenset()


class Vocabulary:
    """The chunks registered so far, by the folded words, stem keys and prefixes they offer."""

    __slots__ = (
        "_by_head",
        "_forms",
        "_generation",
        "_keys",
        "_lengths",
        "_limit",
        "_lock",
        "_prefixes",
        "_seen",
    )

    def __init__(self, limit: int = LIMIT) -> None:
        self._limit = limit  # distinct (chunk, languages) registrations before emptying
        self._lock = threading.Lock()
        self._generation = 0
        self._forms: dict[str, set[str]] = {}  # folded word -> chunks holding it
        self._keys: dict[str, dict[str, set[str]]] = {}  # stemmer -> stem key -> chunks
        # Chunks registered, per tuple of article languages: one set difference tells an
        # article which of its chunks are new to the vocabulary for its languages.
        self._seen: dict[tuple[str, ...], set[str]] = {}
        # Folded words by their first two letters, and the chunks holding a word that
        # starts with each prefix a query has asked about, kept up to date as chunks arrive.
        self._by_head: dict[str, set[str]] = {}
        self._prefixes: dict[str, set[str]] = {}
        # The lengths of the prefixes watched: a new word looks up its own first letters
        # once per length (a handful), not every prefix sharing its first two (hundreds
        # at 100k rules).
        self._lengths: list[int] = []

    def register(self, chunks: frozenset[str], langs: tuple[str, ...]) -> int:
        """Add an article's distinct ``chunks``, read with the stemmers ``langs``.

        Returns the generation the article's analysis belongs to: hand it back to
        :meth:`is_current` once the rules have read the analysis.
        """
        with self._lock:
            # Created before any emptying, which clears tables in place: the stemmers'
            # tables exist from here on, so lookups by key never miss a language.
            tables = [self._keys.setdefault(lang, {}) for lang in langs]
            seen = self._seen.setdefault(langs, set())
            fresh = chunks.difference(seen)
            if not fresh:
                return self._generation
            if sum(map(len, self._seen.values())) + len(fresh) > self._limit:
                self._empty()
                fresh = chunks
            self._add_chunks(fresh, list(zip(langs, tables, strict=True)))
            seen.update(fresh)
            return self._generation

    def is_current(self, generation: int) -> bool:
        """False if the vocabulary was emptied since ``register`` returned ``generation``."""
        return generation == self._generation

    def with_key(self, lang: str, key: str) -> AbstractSet[str]:
        """The chunks offering stem ``key`` under the stemmer ``lang`` (registered for it)."""
        return self._keys[lang].get(key, _NOTHING)

    def key_table(self, lang: str) -> Mapping[str, AbstractSet[str]]:
        """``with_key``'s table for ``lang``: stem key -> chunks (for lookups in a loop)."""
        return self._keys[lang]

    def with_form(self, folded: str) -> AbstractSet[str]:
        """The chunks holding a word that folds to ``folded``."""
        return self._forms.get(folded, _NOTHING)

    def with_prefix(self, prefix: str) -> AbstractSet[str]:
        """The chunks holding a word that starts with ``prefix`` (2+ letters, folded).

        The first ask gathers them and watches the prefix, so that chunks registered
        afterwards join it as they arrive: later asks are one dictionary probe.
        """
        found = self._prefixes.get(prefix)
        if found is None:
            with self._lock:
                found = self._prefixes.get(prefix)
                if found is None:  # else another thread got there first
                    found = self._watch(prefix)
        return found

    def _watch(self, prefix: str) -> set[str]:
        # Under the lock.
        found: set[str] = set()
        for form in self._by_head.get(prefix[:2], ()):
            if form.startswith(prefix):
                found |= self._forms[form]
        self._prefixes[prefix] = found
        if len(prefix) not in self._lengths:
            self._lengths.append(len(prefix))
        return found

    def _empty(self) -> None:
        # Under the lock. In place, never rebound: see the module docstring.
        self._generation += 1
        for table in (self._forms, self._by_head, self._prefixes, *self._keys.values()):
            table.clear()
        for registered in self._seen.values():
            registered.clear()
        self._lengths.clear()

    def _add_chunks(
        self, fresh: AbstractSet[str], pairs: list[tuple[str, dict[str, set[str]]]]
    ) -> None:
        # Under the lock. Registering again under another tuple of languages adds
        # nothing new to the tables it shares with the first.
        forms, by_head, prefixes, lengths = (
            self._forms,
            self._by_head,
            self._prefixes,
            self._lengths,
        )
        # _add written out: this loop runs for every word of every new chunk, and the
        # calls were a fifth of its time.
        for chunk in fresh:
            for _, _, low, folded in chunk_words(chunk):
                holding = forms.get(folded)
                if holding is None:
                    forms[folded] = {chunk}
                    # A form is filed under its head once: both tables empty together.
                    _add(by_head, folded[:2], folded)
                else:
                    holding.add(chunk)
                for length in lengths:
                    watching = prefixes.get(folded[:length]) if length <= len(folded) else None
                    if watching is not None:
                        watching.add(chunk)
                for lang, table in pairs:
                    for key in text_keys(lang, low):
                        holding = table.get(key)
                        if holding is None:
                            table[key] = {chunk}
                        else:
                            holding.add(chunk)


def _add(table: dict[str, set[str]], key: str, value: str) -> None:
    # Not setdefault(key, set()): that builds a set on every call, found or not.
    found = table.get(key)
    if found is None:
        table[key] = {value}
    else:
        found.add(value)
