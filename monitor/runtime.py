"""What a poll needs, passed in: the config, the store, the fetcher, the rules, a clock."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from monitor.config import AlertConfig, Config, SourceConfig
from monitor.dedupe import Signature, StoryIndex
from monitor.fetch import Fetcher
from monitor.metrics import Metrics
from monitor.rules import Query, RuleIndex, parse_query
from monitor.store import NearFinder, Store, StoryLoader

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

    def __len__(self) -> int:
        return len(self._index)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Rules:
    """The config's alerts, parsed once and indexed by the terms they need."""

    alerts: dict[str, AlertConfig]
    queries: dict[str, Query]
    index: RuleIndex

    @classmethod
    def from_config(cls, config: Config) -> Rules:
        index = RuleIndex()
        queries: dict[str, Query] = {}
        for alert in config.alerts:
            queries[alert.name] = parse_query(alert.query, config.synonyms)
            index.add(alert.name, queries[alert.name])
        return cls({a.name: a for a in config.alerts}, queries, index)


@dataclass
class Runtime:
    config: Config
    store: Store | None  # None in a dry run, which writes nothing
    fetcher: Fetcher
    rules: Rules
    clock: Callable[[], datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)
    metrics: Metrics = field(default_factory=Metrics)
    stories: StoryTracker = field(default_factory=StoryTracker)
    _by_name: tuple[Config, dict[str, SourceConfig]] | None = field(default=None, repr=False)

    def db(self) -> Store:
        if self.store is None:
            raise RuntimeError("this runtime has no store (dry run)")
        return self.store

    def source(self, name: str) -> SourceConfig | None:
        # Built on first use per config: a scan per poll grows with the square of sources.
        by_name = self._by_name
        if by_name is None or by_name[0] is not self.config:
            by_name = self._by_name = (self.config, {s.name: s for s in self.config.sources})
        return by_name[1].get(name)
