"""The ``log`` channel: alerts printed to the console, the bundled example's default.

It needs no server and no secret, so a fresh install shows its first alerts right away.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from monitor.alerts._message import AlertMessage
from monitor.alerts._probe import probe_text
from monitor.alerts._render import group_stories
from monitor.alerts._templates import Templates
from monitor.errors import DeliveryError
from monitor.observe import event

if TYPE_CHECKING:
    from monitor.alerts._build import ChannelContext
    from monitor.config import LogChannel

logger = logging.getLogger(__name__)

_RULE = "-" * 72


class LogNotifier:
    """Prints a readable block per alert to ``stream`` (standard output by default)."""

    def __init__(self, stream: TextIO | None = None, templates: Templates | None = None) -> None:
        self._stream = stream
        self._templates = templates or Templates()

    @classmethod
    def from_config(cls, channel: LogChannel, ctx: ChannelContext) -> LogNotifier:
        return cls(templates=Templates.from_channel(channel))

    def _write(self, block: str) -> None:
        # Resolved at each write, not at construction, so redirected stdout is honoured.
        stream = self._stream if self._stream is not None else sys.stdout
        try:
            stream.write(f"{_RULE}\n{block}{_RULE}\n")
            stream.flush()
        except (OSError, ValueError) as exc:  # ValueError: the stream was closed
            raise DeliveryError(f"cannot write the alert to the console: {exc}") from exc

    async def send(self, message: AlertMessage) -> None:
        """Print one alert."""
        self._write(self._templates.alert(message).text)
        event(
            logger, "alert printed", alert=message.alert, alert_id=message.id,
            url=message.article.url, source=message.article.source,
        )  # fmt: skip

    async def probe(self, channel: str) -> str:
        """Print a block marked as a test (``monitor channels test``)."""
        self._write(probe_text(channel, datetime.now(UTC)))
        return "printed the test message on standard output"

    async def send_digest(self, name: str, messages: Sequence[AlertMessage]) -> None:
        """Print one digest listing every story; an empty digest prints nothing."""
        if not messages:
            return
        self._write(self._templates.digest(name, messages).text)
        event(logger, "digest printed", digest=name, stories=len(group_stories(messages)))
