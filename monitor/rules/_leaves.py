"""Query nodes that match one word of an article: a stemmed word, an exact word, a
prefix, or words written as one ("aujourd'hui").

Each finds the article's matching chunks through the vocabulary the article was
analysed against (see _vocabulary) and remembers them on the article, since many rules
share their words.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet

from monitor.rules._analysis import chunk_words, query_keys
from monitor.rules._analyzed import BITS, BODY, TITLE, Analyzed
from monitor.rules._nodes import STREAM_NAMES, Hits, Positional, Span


class WordLike(Positional):
    """A one-word matcher: which of the article's chunks it accepts."""

    __slots__ = ("memo_key",)
    memo_key: tuple[str, object]

    def chunks(self, doc: Analyzed) -> tuple[frozenset[str], frozenset[str]]:
        """The matching chunks in the title and in the body."""
        found = doc.memo.get(self.memo_key)
        if found is None:
            found = doc.memo[self.memo_key] = doc.split(self._candidates(doc))
        return found

    def test(self, doc: Analyzed, mask: int) -> bool:
        # Remembered per article as the fields it occurs in: rules share their words,
        # and a matching rule then reads the same chunks for its highlights.
        where = doc.present.get(self.memo_key)
        if where is None:
            where = doc.present[self.memo_key] = self._where(doc)
        return bool(where & mask)

    def _where(self, doc: Analyzed) -> int:
        """The fields (TITLE | BODY bits) the word occurs in.

        Most words asked about are never highlighted nor placed (their rule fails on
        another part), so presence is found by a disjointness test per set of chunks
        offering the word, in C, without gathering the chunks into new sets.
        """
        title, body = doc.in_mask[TITLE], doc.in_mask[BODY]
        where = 0
        for offered in self._offered(doc):
            if not title.isdisjoint(offered):
                where |= TITLE
            if not body.isdisjoint(offered):
                where |= BODY
        return where

    def _offered(self, doc: Analyzed) -> Iterable[AbstractSet[str]]:
        """Sets of vocabulary chunks whose union is the chunks the word accepts."""
        return (set(self._candidates(doc)),)

    def _candidates(self, doc: Analyzed) -> Iterable[str]:
        raise NotImplementedError

    def positions(self, doc: Analyzed, stream: int) -> list[int]:
        if not self.test(doc, BITS[stream]):
            return []
        return doc.positions(stream, self.chunks(doc)[stream])

    def spans(self, doc: Analyzed, stream: int) -> list[Span]:
        # Remembered on the article: a proximity chain asks again for its highlights.
        key = (self, stream)
        found = doc.near_memo.get(key)
        if found is None:
            found = [(p, p, frozenset((p,))) for p in self.positions(doc, stream)]
            doc.near_memo[key] = found
        return found

    def collect(self, doc: Analyzed, mask: int, hits: Hits, label: str | None) -> None:
        # One pass over the article's matching chunks serves both fields.
        for stream, chunks in enumerate(self.chunks(doc)):
            if chunks and BITS[stream] & mask:
                hits.add(label or self.text, STREAM_NAMES[stream], stream, chunks=chunks)


class Word(WordLike):
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

    def _where(self, doc: Analyzed) -> int:
        # The common case of the evaluation (half the words asked about an article):
        # the key tables read directly, no set list built, no call per key.
        title, body = doc.in_mask[TITLE], doc.in_mask[BODY]
        where = 0
        key_table = doc.vocabulary.key_table
        for lang in doc.langs:
            table = key_table(lang)
            for key in self._keys.get(lang) or self.keys(lang):
                offered = table.get(key)
                if offered:
                    if not title.isdisjoint(offered):
                        where |= TITLE
                    if not body.isdisjoint(offered):
                        where |= BODY
        return where

    def _offered(self, doc: Analyzed) -> list[AbstractSet[str]]:
        with_key = doc.vocabulary.with_key
        return [with_key(lang, key) for lang in doc.langs for key in self.keys(lang)]

    def _candidates(self, doc: Analyzed) -> Iterable[str]:
        found: set[str] = set()
        for offered in self._offered(doc):
            found.update(offered)
        return found


class Exact(WordLike):
    """A quoted word: this exact form, case and accents aside."""

    __slots__ = ("folded",)

    def __init__(self, text: str, folded: str) -> None:
        super().__init__(text)
        self.folded = folded
        self.memo_key = ("x", folded)

    def _offered(self, doc: Analyzed) -> tuple[AbstractSet[str]]:
        return (doc.vocabulary.with_form(self.folded),)

    def _candidates(self, doc: Analyzed) -> Iterable[str]:
        return doc.vocabulary.with_form(self.folded)


class Prefix(WordLike):
    """``word*``: any word starting with these letters, case and accents aside."""

    __slots__ = ("prefix",)

    def __init__(self, text: str, prefix: str) -> None:
        super().__init__(text)
        self.prefix = prefix
        self.memo_key = ("p", prefix)

    def _offered(self, doc: Analyzed) -> tuple[AbstractSet[str]]:
        return (doc.vocabulary.with_prefix(self.prefix),)

    def _candidates(self, doc: Analyzed) -> Iterable[str]:
        return doc.vocabulary.with_prefix(self.prefix)


class Unit(WordLike):
    """Words written as one ("aujourd'hui"): a chunk holding exactly these words."""

    __slots__ = ("folded",)

    def __init__(self, text: str, folded: tuple[str, ...]) -> None:
        super().__init__(text)
        self.folded = folded
        self.memo_key = ("u", folded)

    def _candidates(self, doc: Analyzed) -> Iterable[str]:
        return [
            chunk
            for chunk in doc.vocabulary.with_form(self.folded[0])
            if tuple(w[3] for w in chunk_words(chunk)) == self.folded
        ]
