"""``monitor digest send CHANNEL``: send the alerts waiting for a channel's digest now."""

from __future__ import annotations

import asyncio
import sys

from monitor.alerts import send_digest_now
from monitor.cli._admin import open_db
from monitor.cli._channels import channel_notifier
from monitor.cli._codes import EXIT_FAILED
from monitor.config import Config
from monitor.errors import DeliveryError
from monitor.observe import redact
from monitor.pipeline import utcnow


def send_digest(config: Config, name: str) -> int:
    """Send it whatever the schedule; a scheduled digest then carries only later alerts."""

    async def go() -> int:
        async with channel_notifier(config, name) as notifier:
            store = open_db(config)
            try:
                return await send_digest_now(store, notifier, name, utcnow)
            finally:
                store.close()

    try:
        sent = asyncio.run(go())
    except DeliveryError as exc:
        print(f"digest of {name} not sent (the alerts keep waiting): {redact(str(exc))}",
              file=sys.stderr)  # fmt: skip
        return EXIT_FAILED
    if not sent:
        print(f"no alerts waiting for a digest on channel {name}")
    else:
        print(f"digest of {name} sent: {sent} alert(s)")
    return 0
