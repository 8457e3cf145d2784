"""``monitor digest send CHANNEL``: send the alerts waiting for a channel's digest now."""

from __future__ import annotations

import asyncio
import sys

from monitor.cli._admin import open_db
from monitor.cli._codes import EXIT_FAILED
from monitor.config import Config
from monitor.errors import DeliveryError
from monitor.observe import redact
from monitor.pipeline import send_digest as send_now


def send_digest(config: Config, name: str) -> int:
    """Send it whatever the schedule; a scheduled digest then carries only later alerts."""
    store = open_db(config)
    try:
        sent = asyncio.run(send_now(config, store, name))
    except DeliveryError as exc:
        print(f"digest of {name} not sent (the alerts keep waiting): {redact(str(exc))}",
              file=sys.stderr)  # fmt: skip
        return EXIT_FAILED
    finally:
        store.close()
    if not sent:
        print(f"no alerts waiting for a digest on channel {name}")
    else:
        print(f"digest of {name} sent: {sent} alert(s)")
    return 0
