"""MinHash signatures of article bodies: near copies have near-equal signatures.

A body becomes the set of its overlapping ``SHINGLE_WORDS``-word shingles of content
words (``_fingerprint.content_words``); the Jaccard similarity of two such sets is the
share of shingles they have in common, and a ``Signature`` estimates it from ``BINS``
32-bit numbers per text, small enough to store with each article.

Speed without numpy: each shingle is hashed exactly once, by ``zlib.crc32`` over a slice
of one buffer (stable across processes and Python versions, unlike ``hash()``: stored
signatures must stay comparable). Instead of ``BINS`` separate permutations, one-
permutation hashing lets a hash's top bits pick its bin and keeps the smallest hash per
bin; bins a short text leaves empty borrow another bin's minimum along a fixed pseudo-
random order ("optimal densification", Shrivastava 2017), so two texts still agree on a
bin with probability close to their Jaccard similarity.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from itertools import accumulate, repeat
from operator import add, rshift, sub
from zlib import crc32

from monitor.dedupe._fingerprint import content_words, content_words_of, fingerprint_of, raw_words

BINS = 128
SHINGLE_WORDS = 4
# Fewer content words than this carry too little text to call two articles one story (a
# paywall notice, a "read more" teaser): such signatures never match anything.
MIN_CONTENT_WORDS = 10
SERIAL_VERSION = 1

# BINS is a power of two: the top bits of a shingle's CRC pick its bin; the CRC itself,
# which names the shingle, is the value kept for the bin.
_BIN_SHIFT = 32 - (BINS.bit_length() - 1)
_HEADER = struct.Struct("<BI")
_VALUES = struct.Struct(f"<{BINS}I")


def _donor_orders() -> tuple[tuple[int, ...], ...]:
    # Fixed forever: stored signatures depend on it. A seeded generator is reproducible.
    rng = random.Random(20241118)
    orders = []
    for index in range(BINS):
        others = [other for other in range(BINS) if other != index]
        rng.shuffle(others)
        orders.append(tuple(others))
    return tuple(orders)


_DONORS = _donor_orders()


@dataclass(frozen=True, slots=True)
class Signature:
    """A body's MinHash: ``BINS`` 32-bit minima (little-endian) and its shingle count.

    ``shingles == 0`` marks a text too short to compare; it matches nothing.
    """

    values: bytes
    shingles: int

    def __post_init__(self) -> None:
        if len(self.values) != 4 * BINS or self.shingles < 0:
            raise ValueError(f"a signature holds {BINS} 32-bit values and a shingle count")

    @property
    def usable(self) -> bool:
        return self.shingles > 0

    def similarity(self, other: Signature) -> float:
        """Estimated Jaccard similarity of the two bodies' shingle sets (0.0 to 1.0)."""
        if not (self.usable and other.usable):
            return 0.0
        return agreement(self.as_int(), other.as_int())

    def as_int(self) -> int:
        """The bins as one integer, the form ``agreement`` compares."""
        return int.from_bytes(self.values, "little")

    def to_bytes(self) -> bytes:
        """Stable serialisation for the store: version, shingle count, minima."""
        return _HEADER.pack(SERIAL_VERSION, self.shingles) + self.values

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        """Inverse of ``to_bytes``; raises ``ValueError`` on another version or length."""
        if len(data) != _HEADER.size + 4 * BINS:
            raise ValueError(f"a signature is {_HEADER.size + 4 * BINS} bytes, not {len(data)}")
        version, shingles = _HEADER.unpack_from(data)
        if version != SERIAL_VERSION:
            raise ValueError(f"signature version {version} is not {SERIAL_VERSION}")
        return cls(bytes(data[_HEADER.size :]), shingles)


def agreement(bins_a: int, bins_b: int) -> float:
    """The share of equal bins between two ``Signature.as_int`` values."""
    # XOR: a bin where both agree becomes a zero 32-bit word, counted in C.
    words = memoryview((bins_a ^ bins_b).to_bytes(4 * BINS, "little")).cast("I")
    equal: int = words.tolist().count(0)
    return equal / BINS


_UNUSABLE = Signature(bytes(4 * BINS), 0)


def shingle_hashes(tokens: list[str]) -> set[int]:
    """Hashes of the distinct ``SHINGLE_WORDS``-word shingles of ``tokens``.

    The tokens are joined once; each shingle is then a slice of that buffer, hashed by
    ``zlib.crc32`` in C, so the Python-level work per shingle is one slice and one call.
    """
    encoded = list(map(str.encode, tokens))
    buffer = memoryview(b" ".join(encoded))
    starts = list(accumulate(map(add, map(len, encoded), repeat(1)), initial=0))
    ends = map(sub, starts[SHINGLE_WORDS:], repeat(1))
    return {crc32(buffer[start:end]) for start, end in zip(starts, ends, strict=False)}


def signature(text: str) -> Signature:
    """The MinHash ``Signature`` of a body text."""
    return _signature_of(content_words(text))


def fingerprint_and_signature(text: str) -> tuple[str, Signature]:
    """``body_fingerprint(text)`` and ``signature(text)``, from one scan of its words
    (the scan is a third of what both cost)."""
    raw = raw_words(text)
    return fingerprint_of(raw), _signature_of(content_words_of(raw))


def _signature_of(tokens: list[str]) -> Signature:
    if len(tokens) < MIN_CONTENT_WORDS:
        return _UNUSABLE
    hashes = shingle_hashes(tokens)
    # Descending order: the last value dict() keeps for a bin is the bin's minimum.
    ordered = sorted(hashes, reverse=True)
    minima = dict(zip(map(rshift, ordered, repeat(_BIN_SHIFT)), ordered, strict=True))
    if len(minima) == BINS:
        return Signature(_VALUES.pack(*[minima[index] for index in range(BINS)]), len(hashes))
    bins = [minima.get(index, -1) for index in range(BINS)]
    for index in range(BINS):
        if bins[index] < 0:
            bins[index] = next(minima[d] for d in _DONORS[index] if d in minima)
    return Signature(_VALUES.pack(*bins), len(hashes))


# Estimated Jaccard similarity from which two bodies are one story: their common shingles
# are then at least 40% of each. Wire copies with other chrome and a few edited sentences
# score well above it; distinct articles on the same topic share a few stock phrases and
# quotes and score far below (bench/dedupe.py).
THRESHOLD = 0.4
# A trimmed copy (an outlet running only the first half of a wire story) has a low
# Jaccard similarity with the full text but lies almost wholly inside it: it joins when
# at least CONTAINMENT of its shingles are the full text's and they cover at least
# COVERAGE of the full text, most of both texts then being common. A later article that
# quotes a paragraph or a quarter of a story lies inside it only as far as the quote goes
# (its own reporting is new) and covers a quarter of it at most: a story of its own. That
# holds only if each text is compared whole: see MAX_CONTENT_WORDS in _fingerprint.
CONTAINMENT = 0.8
COVERAGE = 0.3


def is_same_story(similarity: float, shingles_a: int, shingles_b: int) -> bool:
    """The decision ``same_story`` and ``StoryIndex.find`` share.

    ``similarity`` is the (estimated) Jaccard similarity of two shingle sets of sizes
    ``shingles_a`` and ``shingles_b``; their overlap follows from the three. Symmetric in
    the two texts: which came first never changes the answer.
    """
    if shingles_a <= 0 or shingles_b <= 0:
        return False
    if similarity >= THRESHOLD:
        return True
    overlap = similarity / (1 + similarity) * (shingles_a + shingles_b)
    return overlap >= CONTAINMENT * min(shingles_a, shingles_b) and overlap >= COVERAGE * max(
        shingles_a, shingles_b
    )


def same_story(text_a: str, text_b: str) -> bool:
    """Whether two bodies tell the same story: exact copies, or near copies.

    Compares the two shingle sets exactly (no estimate is needed for a single pair),
    with the same threshold the ``StoryIndex`` applies to signatures.
    """
    tokens_a, tokens_b = content_words(text_a), content_words(text_b)
    if len(tokens_a) < MIN_CONTENT_WORDS or len(tokens_b) < MIN_CONTENT_WORDS:
        return False
    set_a, set_b = shingle_hashes(tokens_a), shingle_hashes(tokens_b)
    union = len(set_a | set_b)
    return is_same_story(len(set_a & set_b) / union, len(set_a), len(set_b))
