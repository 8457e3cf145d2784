"""Body text -> the words dedupe compares, and the exact-copy fingerprint built on them.

Two outlets running the same wire copy rarely produce the same bytes: curly or straight
quotes, non-breaking spaces, a capitalised headline word, accents dropped by one CMS. The
words below ignore all of that, so ``body_fingerprint`` matches exact copies and the
MinHash shingles in ``_minhash`` start from the same tokens.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from itertools import filterfalse, islice

# Combining marks are kept inside a word here and stripped after decomposition below.
_WORD = re.compile(r"[\w\u0300-\u036f]+")
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")

# English and French function words, accented and not. Shingles of the words that carry
# content are both cheaper (half the tokens of a news text) and sturdier: a copy editor's
# "the" for "this" no longer breaks five shingles, and stock phrases ("one of the", "il
# y a") no longer make unrelated articles look alike. Other languages keep every word.
_STOPWORD_LIST = """
    a an the and or but nor if of to in on at by for with from as is are was were be been
    being am it its this that these those he she they we you i his her hers their our your
    my me him them us not no so than then there here which who whom whose what when where
    why how all any some more most such only also just very can could will would shall
    should may might must do does did done has have had having into over under about after
    before between through during out up down off again further once same other own too s
    t d ll re ve m o
    le la les l un une des du de d et ou où ou mais si en dans sur par pour avec sans sous
    que qu qui quoi dont ce cet cette ces c ça ca il elle ils elles on nous vous je j tu se
    s sa son ses leur leurs au aux est sont été ete être etre ont avait avaient était etait
    ne n pas plus y me m te t lui à a
"""
_STOPWORDS = frozenset(_STOPWORD_LIST.split())
# Bounds the cost of a huge page (a 50,000-word page signs in about 25 ms). Far more than
# a story needs to be recognised, on purpose: a long story cut to its first words would
# look, to a later article quoting a quarter of it, like that quote alone (bench/dedupe.py
# showed such follow-ups merged with a cut at 1,000).
MAX_CONTENT_WORDS = 20_000


def _strip_accents(text: str) -> str:
    # Decompose, then drop the marks: "é" and "e" are one letter to a copy editor.
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text))


def words(text: str) -> list[str]:
    """Case-folded, accent-free word tokens of ``text``; punctuation and spacing dropped."""
    return words_of(raw_words(text))


def raw_words(text: str) -> list[str]:
    """The words of ``text``, case-folded, accents still on: what ``words_of`` and
    ``content_words_of`` start from, so one scan of a body serves both."""
    return _WORD.findall(text.casefold())


def words_of(raw: list[str]) -> list[str]:
    joined = " ".join(raw)
    return (joined if joined.isascii() else _strip_accents(joined)).split()


def content_words(text: str) -> list[str]:
    """``words`` without English and French function words, the first ``MAX_CONTENT_WORDS``."""
    return content_words_of(raw_words(text))


def content_words_of(raw: list[str]) -> list[str]:
    kept = islice(filterfalse(_STOPWORDS.__contains__, raw), MAX_CONTENT_WORDS)
    joined = " ".join(kept)
    if joined.isascii():
        return joined.split()
    return list(filterfalse(_STOPWORDS.__contains__, _strip_accents(joined).split()))


def body_fingerprint(text: str) -> str:
    """A hex digest of the normalised body: equal for exact copies of one text.

    Bodies that differ only in case, accents, punctuation or spacing share a
    fingerprint. An empty or very short body (a paywall notice) fingerprints like any
    other text; callers should not merge articles on such bodies alone.
    """
    return fingerprint_of(raw_words(text))


def fingerprint_of(raw: list[str]) -> str:
    """``body_fingerprint`` of the text whose ``raw_words`` are ``raw``."""
    normalised = " ".join(words_of(raw))
    return hashlib.blake2b(normalised.encode("utf-8"), digest_size=16).hexdigest()
