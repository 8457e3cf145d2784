"""Where near copies are looked for: in the database (PostgreSQL) or in this process.

``BandStories`` (PostgreSQL) keeps nothing: each insert hands the store its band keys
and a scorer, and the store asks the database's GIN index, under locks of only those
keys. ``StoryTracker`` (SQLite, one daemon) keeps a ``StoryIndex`` in memory, fed the
stories created since it last looked. Both give the same answers on the same data.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from functools import partial

from monitor.dedupe import Signature, StoryIndex, band_keys, nearest_story
from monitor.store import BandQuery, NearFinder, Store, StoryLoader

# Near copies are looked for among the stories of this many days (memory stays bounded).
STORY_WINDOW = timedelta(days=7)


class StoryTracker:
    """The near-copy index of one process, kept in step with the database.

    Each insert hands the tracker the stories created since it last looked (by any
    worker, inside the insert's transaction), so a copy found by another daemon a
    moment ago is seen here too.
    """

    def __init__(self, window: timedelta = STORY_WINDOW) -> None:
        self._window = window
        self._index = StoryIndex(window.total_seconds() / 86400)
        self._last_id = 0
        # Inserts run in worker threads; the index is not thread-safe.
        self._lock = threading.Lock()

    def finder(self, sig: Signature, now: datetime) -> NearFinder:
        def find(load: StoryLoader) -> int | None:
            with self._lock:
                for story_id, blob, created in load(self._last_id, now - self._window):
                    self._last_id = max(self._last_id, story_id)
                    try:
                        self._index.add(story_id, Signature.from_bytes(blob), created)
                    except ValueError:
                        continue  # a signature from another version: not comparable
                return self._index.find(sig)

        return find

    def forget(self) -> None:
        """Start again from the database: a batch's transaction failed, and the index may
        hold stories its earlier articles created, which then never existed (SQLite would
        give their ids to other stories). The next insert reloads the window's stories."""
        with self._lock:
            self._index = StoryIndex(self._window.total_seconds() / 86400)
            self._last_id = 0

    def __len__(self) -> int:
        return len(self._index)


class BandStories:
    """The near-copy index in the database: nothing loaded at start, nothing held here,
    so a worker joining a cluster with any number of stories inserts at once."""

    def __init__(self, window: timedelta = STORY_WINDOW) -> None:
        self._window = window

    def finder(self, sig: Signature, now: datetime) -> BandQuery:
        return BandQuery(band_keys(sig), now - self._window, partial(nearest_story, sig))

    def forget(self) -> None:
        """Nothing to forget: the index is the database's (see ``StoryTracker.forget``)."""


def stories_for(
    store: Store | None, window: timedelta = STORY_WINDOW
) -> StoryTracker | BandStories:
    """The database's index on PostgreSQL, else one in this process."""
    if store is not None and store.dialect == "postgresql":
        return BandStories(window)
    return StoryTracker(window)


def prune_archive(store: Store, retention: timedelta | None, now: datetime) -> dict[str, int]:
    """What the retention job forgets, the same for `monitor run` and `monitor worker`:
    the band keys of stories past the near-copy window (PostgreSQL's index), then, with
    ``retention``, the articles older than it. Returns the counts by kind."""
    counts = {"story_bands": store.prune_story_bands(now - STORY_WINDOW)}
    if retention is not None:
        counts |= store.prune(now - retention)
    return counts
