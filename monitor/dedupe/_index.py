"""StoryIndex: which recent story is this body a near copy of?

The pipeline asks ``find`` for every new article and, when it starts a story or joins
one, ``add``s the article's signature. LSH banding keeps ``find`` cheap with a hundred
thousand signatures in the window: the first ``BANDS`` pairs of bins of a signature are
its bands, and only entries that agree with the query on a whole band become candidates,
scored on all bins. Two bodies with Jaccard similarity J share a given band with
probability J², so some band with probability 1 - (1 - J²)^BANDS: 0.985 at J = 0.4,
0.90 at J = 0.3, 0.2% at J = 0.01.

Memory is the constraint at that size (bench/dedupe.py states it), so:

* each entry keeps only the low 16 bits of each bin: two different shingles agree on
  them by accident once in 65,536 bins, a bias of 0.002% on the similarity;
* the bands are not dicts (about 70 bytes a key) but open-addressing tables in
  ``array('I')``: 4 bytes a cell, packing the top bits of the band's value with the
  entry's slot number.

Entries older than the window are pruned (tombstoned; the tables are rebuilt when
tombstones pile up), so memory stays bounded however long the daemon runs; after a
restart the index is rebuilt from the stored ``(story_id, signature, seen_at)`` rows.
Not thread-safe: one owner.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterable
from datetime import datetime

from monitor.dedupe._minhash import BINS, Signature, is_same_story

BANDS = 24
assert 2 * BANDS <= BINS
_COMPACT_BYTES = 2 * BINS
_BAND_KEYS = struct.Struct(f"<{BANDS}I")  # two 16-bit bins per band: one 32-bit key

_SLOT_BITS = 22
_SLOT_MASK = (1 << _SLOT_BITS) - 1
_TAG_SHIFT = _SLOT_BITS  # a key's top 10 bits ride along with the slot as its tag
_EMPTY = 0xFFFFFFFF
_TOMBSTONE = 0xFFFFFFFE
_MAX_SLOTS = _SLOT_MASK - 1  # the two highest slots would spell the markers above
_MIN_CELLS = 1024
# Linear probing stays short below 60% full; a rebuild leaves room to grow to it.
_MAX_LOAD = 0.6
_REBUILT_LOAD = 0.45
# Re-scan for expired entries each time the newest time has moved this share of a window.
_PRUNE_EVERY = 1 / 48


def _compact(sig: Signature) -> int:
    """The low 16 bits of every bin, as one integer (the form ``_agreement`` compares)."""
    # Every 32-bit value is stored little-endian, so even 16-bit words are the low halves.
    return int.from_bytes(memoryview(sig.values).cast("H")[::2].tobytes(), "little")


def _agreement(compact_a: int, compact_b: int) -> float:
    # XOR: a bin where both agree becomes a zero 16-bit word, counted in C.
    words = memoryview((compact_a ^ compact_b).to_bytes(_COMPACT_BYTES, "little")).cast("H")
    equal: int = words.tolist().count(0)
    return equal / BINS


def _band_keys(compact: int) -> tuple[int, ...]:
    return _BAND_KEYS.unpack_from(compact.to_bytes(_COMPACT_BYTES, "little"))


def band_keys(sig: Signature) -> tuple[int, ...]:
    """The signature's ``BANDS`` band keys as the database indexes them: band ``i``'s
    32-bit key in the low bits and ``i`` above them, so equal keys of different bands
    never meet. Two signatures share one of these exactly when ``StoryIndex`` would file
    them under the same band key. Empty for a signature too short to compare."""
    if not sig.usable:
        return ()
    return tuple((band << 32) | key for band, key in enumerate(_band_keys(_compact(sig))))


def nearest_story(sig: Signature, candidates: Iterable[tuple[int, bytes, datetime]]) -> int | None:
    """Of stored stories ``(story id, Signature.to_bytes(), created)``, the one ``sig`` is a
    near copy of, by the very scoring and tie-breaking ``StoryIndex.find`` applies; None
    when none is. A signature of another version is skipped: it is not comparable."""
    if not sig.usable:
        return None
    query = _compact(sig)
    best: tuple[float, float, int] | None = None
    for story_id, blob, created in candidates:
        try:
            other = Signature.from_bytes(blob)
        except ValueError:
            continue
        score = _agreement(query, _compact(other))
        if is_same_story(score, sig.shingles, other.shingles):
            rank = (score, _timestamp(created), story_id)
            if best is None or rank > best:
                best = rank
    return None if best is None else best[2]


def _timestamp(moment: datetime) -> float:
    if moment.tzinfo is None:
        raise ValueError("StoryIndex needs aware datetimes")
    return moment.timestamp()


class StoryIndex:
    """Signatures of the stories seen in the last ``window_days``, searchable by LSH."""

    def __init__(self, window_days: float = 7.0) -> None:
        if not window_days > 0:
            raise ValueError("window_days must be positive")
        self._window = window_days * 86400.0
        # Per slot: the story, when it was seen, the compact bins (None once the slot is
        # freed) and the shingle count.
        self._story: array[int] = array("q")
        self._seen: array[float] = array("d")
        self._compact: list[int | None] = []
        self._shingles: array[int] = array("I")
        self._free: list[int] = []
        self._live = 0
        self._tombstones = 0
        self._mask = _MIN_CELLS - 1
        self._tables = self._empty_tables(_MIN_CELLS)
        self._newest = float("-inf")
        self._last_prune = float("-inf")

    def __len__(self) -> int:
        return self._live

    def add(self, story_id: int, sig: Signature, seen_at: datetime) -> None:
        """Index ``sig`` as part of ``story_id``; ignored if older than the window."""
        moment = _timestamp(seen_at)
        if not sig.usable or moment < self._newest - self._window:
            return
        if moment > self._newest:
            self._newest = moment
            if moment - self._last_prune > self._window * _PRUNE_EVERY:
                self._last_prune = moment
                self._drop_before(moment - self._window)
        compact = _compact(sig)
        slot = self._claim_slot(story_id, moment, compact, sig.shingles)
        self._live += 1
        if self._live + self._tombstones > _MAX_LOAD * (self._mask + 1):
            self._rebuild()
        else:
            self._insert(slot, _band_keys(compact))

    def find(self, sig: Signature) -> int | None:
        """The story id of the indexed signature ``sig`` is a near copy of, best match first.

        Ties on similarity go to the most recently seen entry: the story still unfolding.
        """
        if not sig.usable or not self._live:
            return None
        query = _compact(sig)
        best: tuple[float, float, int] | None = None
        for slot in self._candidates(_band_keys(query)):
            other = self._compact[slot]
            if other is None:
                continue
            score = _agreement(query, other)
            if is_same_story(score, sig.shingles, self._shingles[slot]):
                rank = (score, self._seen[slot], self._story[slot])
                if best is None or rank > best:
                    best = rank
        return None if best is None else best[2]

    def prune(self, now: datetime) -> None:
        """Forget signatures seen more than ``window_days`` before ``now``."""
        self._drop_before(_timestamp(now) - self._window)

    # --- slots ---------------------------------------------------------------------------

    def _claim_slot(self, story_id: int, moment: float, compact: int, shingles: int) -> int:
        if self._free:
            slot = self._free.pop()
            self._story[slot], self._seen[slot] = story_id, moment
            self._compact[slot], self._shingles[slot] = compact, shingles
            return slot
        slot = len(self._compact)
        if slot >= _MAX_SLOTS:
            raise OverflowError(f"StoryIndex holds at most {_MAX_SLOTS} signatures")
        self._story.append(story_id)
        self._seen.append(moment)
        self._compact.append(compact)
        self._shingles.append(shingles)
        return slot

    def _drop_before(self, cutoff: float) -> None:
        compacts = self._compact
        expired = [
            (slot, compact)
            for slot, (seen, compact) in enumerate(zip(self._seen, compacts, strict=True))
            if seen < cutoff and compact is not None
        ]
        for slot, compact in expired:
            self._remove(slot, _band_keys(compact))
            compacts[slot] = None
            self._free.append(slot)
        self._live -= len(expired)
        self._tombstones += len(expired)

    # --- band tables ---------------------------------------------------------------------

    @staticmethod
    def _empty_tables(cells: int) -> list[array[int]]:
        blank = array("I", [_EMPTY]) * cells
        return [array("I", blank) for _ in range(BANDS)]

    def _insert(self, slot: int, keys: tuple[int, ...]) -> None:
        mask = self._mask
        for table, key in zip(self._tables, keys, strict=True):
            cell = key & mask
            while table[cell] < _TOMBSTONE:
                cell = (cell + 1) & mask
            table[cell] = ((key >> _TAG_SHIFT) << _SLOT_BITS) | slot

    def _remove(self, slot: int, keys: tuple[int, ...]) -> None:
        mask = self._mask
        for table, key in zip(self._tables, keys, strict=True):
            packed = ((key >> _TAG_SHIFT) << _SLOT_BITS) | slot
            cell = key & mask
            while table[cell] != packed:
                cell = (cell + 1) & mask
            table[cell] = _TOMBSTONE

    def _candidates(self, keys: tuple[int, ...]) -> set[int]:
        mask = self._mask
        found: set[int] = set()
        for table, key in zip(self._tables, keys, strict=True):
            tag = key >> _TAG_SHIFT
            cell = key & mask
            while (held := table[cell]) != _EMPTY:
                if held >> _SLOT_BITS == tag and held != _TOMBSTONE:
                    found.add(held & _SLOT_MASK)
                cell = (cell + 1) & mask
        return found

    def _rebuild(self) -> None:
        """New tables sized for the live entries, without tombstones."""
        cells = _MIN_CELLS
        while cells * _REBUILT_LOAD < self._live:
            cells *= 2
        self._mask = cells - 1
        self._tables = self._empty_tables(cells)
        self._tombstones = 0
        for slot, compact in enumerate(self._compact):
            if compact is not None:
                self._insert(slot, _band_keys(compact))
