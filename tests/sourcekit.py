"""One poll of every source of a config, in process, as the daemon would run it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.config import Config
from monitor.fetch import Fetcher, FetchSettings
from monitor.observe import Metrics
from monitor.pipeline import PollResult, Rules, Runtime, poll_source
from monitor.store import SourceSpec, Store


async def poll_once(
    config: Config, store: Store, metrics: Metrics | None = None
) -> dict[str, PollResult]:
    """Sync the config's sources, claim them all and poll each once: name -> result."""
    now = datetime.now(UTC)
    store.sync_sources([SourceSpec(s.name, s.url, s.kind, 600) for s in config.sources], now)
    claimed = store.claim_due(now, "test:1:x", timedelta(minutes=5), 10, due_or_not=True)
    async with Fetcher(FetchSettings.from_config(config.fetch)) as fetcher:
        rt = Runtime(
            config, store, fetcher, Rules.from_config(config), metrics=metrics or Metrics()
        )
        return {c.name: await poll_source(rt, c) for c in claimed}
