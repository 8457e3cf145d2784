"""One channel at the command's request: its test message (``monitor channels test``)
and its digest sent now (``monitor digest send``), with the notifier the daemon would
build (and, for webhooks, the fetcher's guarded POST)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from monitor.alerts import Notifier, build_notifiers, next_digests, probe_channel, send_digest_now
from monitor.config import Config
from monitor.errors import ConfigError
from monitor.fetch import Fetcher, FetchSettings
from monitor.pipeline._runtime import utcnow
from monitor.store import Store

__all__ = ["channel_notifier", "next_digests", "send_digest", "test_channel"]


@asynccontextmanager
async def channel_notifier(config: Config, name: str) -> AsyncIterator[Notifier]:
    """The notifier of channel ``name``; ``ConfigError`` naming the channels if none."""
    if name not in config.channels:
        known = ", ".join(sorted(config.channels)) or "none"
        raise ConfigError(f"no channel named {name!r} in the config (channels: {known})")
    async with Fetcher(FetchSettings.from_config(config.fetch)) as fetcher:
        yield build_notifiers(config, fetcher.post)[name]


async def test_channel(config: Config, name: str) -> str:
    """Send the channel's test message; the receiver's answer, or ``DeliveryError``."""
    async with channel_notifier(config, name) as notifier:
        return await probe_channel(notifier, name)


async def send_digest(config: Config, store: Store, name: str) -> int:
    """Send the alerts waiting for the channel's digest now; how many it carried."""
    async with channel_notifier(config, name) as notifier:
        return await send_digest_now(store, notifier, name, utcnow)
