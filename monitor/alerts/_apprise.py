"""Chat and push services (Slack, Matrix, Telegram, ntfy, ...) through Apprise URLs.

Apprise is synchronous and does its own HTTP, so a send runs in a worker thread under a
deadline. Its URLs carry tokens: they are never logged or put in an error message, only
their position in the channel's list. Receivers cannot deduplicate by id here, so a crash
between send and mark may repeat a notification once, as with any at-least-once channel.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from monitor.alerts._message import AlertMessage
from monitor.alerts._probe import probe_text
from monitor.alerts._templates import Templates
from monitor.errors import ConfigError, DeliveryError

if TYPE_CHECKING:
    from monitor.alerts._build import ChannelContext
    from monitor.config import AppriseChannel


class AppriseNotifier:
    """Sends each alert to every Apprise URL of the channel."""

    def __init__(
        self, *, urls: Sequence[str], timeout: float = 30.0, templates: Templates | None = None
    ) -> None:
        with warnings.catch_warnings():
            # Apprise still imports the stdlib's deprecated imghdr; nothing for users to fix.
            warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
            import apprise
            import apprise.utils.pgp  # the module that imports imghdr

        if not urls:
            raise ConfigError("an apprise channel needs at least one URL")
        self._apprise = apprise.Apprise()
        for i, url in enumerate(urls):
            if not self._apprise.add(url):
                raise ConfigError(f"apprise URL #{i + 1} is not one Apprise understands")
        self._timeout = timeout
        self._count = len(urls)
        self._templates = templates or Templates()

    @classmethod
    def from_config(cls, channel: AppriseChannel, ctx: ChannelContext) -> AppriseNotifier:
        return cls(
            urls=channel.urls,
            timeout=channel.timeout,
            templates=Templates.from_channel(channel),
        )

    async def send(self, message: AlertMessage) -> None:
        parts = self._templates.alert(message)
        await self._notify(parts.subject, parts.text)

    async def send_digest(self, name: str, messages: Sequence[AlertMessage]) -> None:
        if messages:
            parts = self._templates.digest(name, messages)
            await self._notify(parts.subject, parts.text)

    async def probe(self, channel: str) -> str:
        """Notify every URL with a message marked as a test (``monitor channels test``)."""
        now = datetime.now(UTC)
        await self._notify(f"[news-monitor] TEST of channel {channel}", probe_text(channel, now))
        return f"Apprise reports every service ({self._count}) accepted the test message"

    async def _notify(self, title: str, body: str) -> None:
        try:
            ok = await asyncio.wait_for(
                asyncio.to_thread(self._apprise.notify, body=body, title=title), self._timeout
            )
        except TimeoutError:
            raise DeliveryError(f"apprise: no answer within {self._timeout:.0f} s") from None
        if not ok:
            raise DeliveryError("apprise: a service refused or could not be reached")
