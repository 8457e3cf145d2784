"""``monitor channels test``: the message a channel sends to prove it works, and the call.

The message says plainly that it is a test, so nobody mistakes it for an alert, and it
goes through the channel's real notifier (same SMTP session, same signed POST), so a
success means a real alert would get through too. Each notifier's ``probe`` returns the
receiver's answer (the SMTP reply, the HTTP status) for the command to print.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from monitor.alerts._message import Notifier, _stable_id
from monitor.errors import DeliveryError


@runtime_checkable
class Probing(Protocol):
    """A notifier that can send a test message and report the receiver's answer."""

    async def probe(self, channel: str) -> str: ...


def probe_id(channel: str, now: datetime) -> str:
    """A fresh id per test: receivers deduplicating by id must not drop the second test."""
    return _stable_id(["test", channel, now.astimezone(UTC).isoformat()])


def probe_text(channel: str, now: datetime) -> str:
    """The plain text of a test message."""
    return (
        f"TEST MESSAGE from news-monitor for channel {channel!r}.\n"
        f"Sent at {now.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC by `monitor channels test`.\n"
        "It is not an alert: if you read it, this channel delivers alerts.\n"
    )


def probe_html(channel: str, now: datetime) -> str:
    """The HTML part of a test email: the same words."""
    lines = "<br>\n".join(html.escape(line) for line in probe_text(channel, now).splitlines())
    head = '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>'
    return f"{head}<body><p>{lines}</p></body></html>\n"


async def probe_channel(notifier: Notifier, channel: str) -> str:
    """Send the test message through ``notifier``; the receiver's answer, or
    :class:`DeliveryError` saying why it failed."""
    if not isinstance(notifier, Probing):
        raise DeliveryError(f"channel {channel} cannot send a test message")
    return await notifier.probe(channel)
