"""``monitor channels test NAME``: send a test message through one channel and say what
the receiver answered; exit 1 when it did not accept it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from monitor.alerts import Notifier, build_notifiers, probe_channel
from monitor.cli._codes import EXIT_FAILED
from monitor.config import Config
from monitor.errors import ConfigError, DeliveryError
from monitor.fetch import Fetcher, FetchSettings
from monitor.observe import redact


@asynccontextmanager
async def channel_notifier(config: Config, name: str) -> AsyncIterator[Notifier]:
    """The notifier the daemon would use for channel ``name``, with the daemon's fetcher
    (its address guard, timeouts and caps) for webhooks."""
    if name not in config.channels:
        known = ", ".join(sorted(config.channels)) or "none"
        raise ConfigError(f"no channel named {name!r} in the config (channels: {known})")
    async with Fetcher(FetchSettings.from_config(config.fetch)) as fetcher:
        yield build_notifiers(config, fetcher.post)[name]


def test_channel(config: Config, name: str) -> int:
    """Send the test message; print the receiver's answer (or why it failed)."""

    async def go() -> str:
        async with channel_notifier(config, name) as notifier:
            return await probe_channel(notifier, name)

    try:
        answer = asyncio.run(go())
    except DeliveryError as exc:
        kind = "permanent failure" if exc.permanent else "failure"
        print(f"channel {name}: {kind}: {redact(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    print(f"channel {name}: ok: {redact(answer)}")
    return 0
