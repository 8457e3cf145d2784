"""``monitor channels test NAME``: send a test message through one channel and say what
the receiver answered; exit 1 when it did not accept it."""

from __future__ import annotations

import asyncio
import sys

from monitor.cli._codes import EXIT_FAILED
from monitor.config import Config
from monitor.errors import DeliveryError
from monitor.observe import redact
from monitor.pipeline import test_channel as send_test


def test_channel(config: Config, name: str) -> int:
    """Send the test message; print the receiver's answer (or why it failed)."""
    try:
        answer = asyncio.run(send_test(config, name))
    except DeliveryError as exc:
        kind = "permanent failure" if exc.permanent else "failure"
        print(f"channel {name}: {kind}: {redact(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    print(f"channel {name}: ok: {redact(answer)}")
    return 0
