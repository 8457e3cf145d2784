"""Rules in the database: the config's alerts go into the rules table, and every
worker's ``Rules`` follows that table change by change.

``sync_rules(store, config)`` writes the alerts of a loaded sources.yaml (only what
changed, in bulk). A ``RuleSync`` owns one worker's ``Rules``: it reads the changes
after the version it holds (woken by PostgreSQL NOTIFY, and checking the version every
``every`` seconds in case a notice was missed), parses their queries in a thread, then
files them into the running ``RuleIndex`` on the event loop a few milliseconds at a
time. Each rule is swapped whole (its query, its alert config and its place in the
index in one step, with no await in between), so a match sees every rule either as it
was or as it is; a change of a thousand rules never holds the loop for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from monitor.config import AlertConfig, Config
from monitor.errors import QueryError, StoreError
from monitor.observe import event
from monitor.pipeline._rules import Rules
from monitor.rules import Query, RuleIndex, Vocabulary, parse_query
from monitor.store import RuleChanges, RuleSpec, SourceSpec, Store

log = logging.getLogger("monitor.pipeline.rulesync")

# Longest the loop is held by one step of filing rules into the index.
STEP_SECONDS = 0.01


def sync_config(store: Store, config: Config, now: datetime) -> None:
    """A sources.yaml into the shared tables, as `monitor run` and every `monitor worker`
    do at start: its sources, its channels (enabled again) and its alerts (the rules
    table every worker's ``RuleSync`` follows)."""
    specs = [
        SourceSpec(s.name, s.url, s.kind, int(s.interval.total_seconds()), s.enabled)
        for s in config.sources
    ]
    store.sync_sources(specs, now)
    store.enable_channels(list(config.channels))
    sync_rules(store, config)


def rule_specs(config: Config) -> list[RuleSpec]:
    """The config's alerts as rows of the rules table."""
    return [RuleSpec(a.name, a.query, _spec_json(a)) for a in config.alerts]


def synonyms_json(config: Config) -> str:
    return json.dumps([list(group) for group in config.synonyms], ensure_ascii=False)


def sync_rules(store: Store, config: Config) -> int:
    """Write the config's alerts into the rules table; the rules' version after it."""
    return store.sync_rules(rule_specs(config), synonyms_json(config))


def _spec_json(alert: AlertConfig) -> str:
    data = alert.model_dump(mode="json", exclude={"name", "query"})
    # A duration as the config spells it, so the same validator reads it back.
    max_age = alert.max_age
    data["max_age"] = "none" if max_age is None else f"{int(max_age.total_seconds())}s"
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def alert_of(spec: RuleSpec) -> AlertConfig:
    """The alert a row of the rules table describes."""
    return AlertConfig.model_validate(
        {**json.loads(spec.spec), "name": spec.name, "query": spec.query}
    )


Parsed = tuple[str, AlertConfig, Query]


def _parse(changes: RuleChanges) -> tuple[list[Parsed], list[str]]:
    synonyms = tuple(tuple(group) for group in json.loads(changes.synonyms))
    parsed: list[Parsed] = []
    bad: list[str] = []
    for spec in changes.changed:
        try:
            parsed.append((spec.name, alert_of(spec), parse_query(spec.query, synonyms)))
        except (QueryError, ValidationError, ValueError) as exc:
            # One bad row costs its own rule, never the others.
            event(log, "rule skipped", logging.ERROR, alert=spec.name, error=str(exc)[:300])
            bad.append(spec.name)
    return parsed, bad


class RuleSync:
    """Keeps ``rules`` (its alerts, queries and index) in step with the rules table."""

    def __init__(
        self,
        store: Store,
        rules: Rules | None = None,
        *,
        every: timedelta = timedelta(seconds=30),
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self.store = store
        self.rules = rules if rules is not None else Rules({}, {}, RuleIndex(vocabulary))
        self.version = 0
        self.every = every.total_seconds()
        self.longest_step = 0.0  # seconds: the longest the loop was held by one step
        self._lock = asyncio.Lock()

    async def catch_up(self) -> int:
        """Apply every change after the version held; returns how many rules changed."""
        async with self._lock:
            changes = await asyncio.to_thread(self.store.rule_changes, self.version)
            if changes.version == self.version:
                return 0
            parsed, bad = await asyncio.to_thread(_parse, changes)
            await self._apply(parsed, [*changes.removed, *bad])
            self.version = changes.version
            event(
                log, "rules updated", version=self.version, changed=len(parsed),
                removed=len(changes.removed), skipped=len(bad),
            )  # fmt: skip
            return len(parsed) + len(changes.removed)

    async def _apply(self, parsed: Sequence[Parsed], removed: Sequence[str]) -> None:
        rules = self.rules
        todo: list[tuple[str, Any]] = [("-", name) for name in removed]
        todo += [("+", item) for item in parsed]
        at = 0
        while at < len(todo):
            started = time.perf_counter()
            while at < len(todo) and time.perf_counter() - started < STEP_SECONDS:
                kind, item = todo[at]
                at += 1
                if kind == "-":
                    rules.index.remove(item)
                    rules.alerts.pop(item, None)
                    rules.queries.pop(item, None)
                else:
                    name, alert, query = item
                    rules.index.add(name, query)
                    rules.alerts[name] = alert
                    rules.queries[name] = query
            self.longest_step = max(self.longest_step, time.perf_counter() - started)
            await asyncio.sleep(0)  # let polls and deliveries run between steps

    async def run(self) -> None:
        """Follow the table until cancelled: at once on each NOTIFY, else every
        ``every`` seconds. A database error is logged and retried at the next tick."""
        wake = asyncio.Event()
        stop = threading.Event()
        loop = asyncio.get_running_loop()
        listener = asyncio.create_task(asyncio.to_thread(self._listen, loop, wake, stop))
        try:
            while True:
                try:
                    await self.catch_up()
                except StoreError as exc:
                    event(log, "rules sync failed", logging.WARNING, error=str(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), self.every)
                wake.clear()
        finally:
            stop.set()
            await asyncio.gather(listener, return_exceptions=True)

    def _listen(
        self, loop: asyncio.AbstractEventLoop, wake: asyncio.Event, stop: threading.Event
    ) -> None:
        # A thread of its own: the blocking wait never touches the event loop.
        while not stop.is_set():
            try:
                listener = self.store.rule_listener()
            except StoreError as exc:
                event(log, "rules listener failed", logging.WARNING, error=str(exc))
                stop.wait(self.every)
                continue
            if listener is None:
                return  # SQLite: one daemon, the periodic check is enough
            try:
                while not stop.is_set():
                    if listener.wait(0.5):
                        loop.call_soon_threadsafe(wake.set)
            except StoreError as exc:
                event(log, "rules listener lost", logging.WARNING, error=str(exc))
                loop.call_soon_threadsafe(wake.set)  # catch up on what it may have missed
            finally:
                listener.close()
