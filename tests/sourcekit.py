"""One poll of every source of a config, in process, as the daemon would run it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from monitor.config import Config
from monitor.fetch import Fetcher, FetchSettings
from monitor.observe import Metrics
from monitor.pipeline import PollResult, Rules, Runtime, poll_source
from monitor.store import SourceSpec, Store


async def _poll_all(rt: Runtime, now: datetime) -> dict[str, PollResult]:
    """Sync the runtime's sources, claim them all at ``now`` and poll each once."""
    store = rt.db()
    store.sync_sources([SourceSpec(s.name, s.url, s.kind, 600) for s in rt.config.sources], now)
    claimed = store.claim_due(now, "test:1:x", timedelta(minutes=5), 10, due_or_not=True)
    return {c.name: await poll_source(rt, c) for c in claimed}


async def poll_once(
    config: Config, store: Store, metrics: Metrics | None = None
) -> dict[str, PollResult]:
    """Sync the config's sources, claim them all and poll each once: name -> result."""
    async with Fetcher(FetchSettings.from_config(config.fetch)) as fetcher:
        rt = Runtime(
            config, store, fetcher, Rules.from_config(config), metrics=metrics or Metrics()
        )
        try:
            return await _poll_all(rt, datetime.now(UTC))
        finally:
            await rt.aclose()


async def poll_twice(
    config: Config, store: Store, between: Callable[[], None]
) -> tuple[dict[str, PollResult], dict[str, PollResult]]:
    """Poll every source, call ``between``, poll them all again: one fetcher and one
    runtime for both, as a running daemon keeps them from poll to poll."""
    async with Fetcher(FetchSettings.from_config(config.fetch)) as fetcher:
        rt = Runtime(config, store, fetcher, Rules.from_config(config))
        try:
            first = await _poll_all(rt, datetime.now(UTC))
            between()
            return first, await _poll_all(rt, datetime.now(UTC) + timedelta(minutes=1))
        finally:
            await rt.aclose()
