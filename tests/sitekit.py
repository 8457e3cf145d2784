"""A small local news site, mail server and webhook receiver for end-to-end tests.

The pages and feeds are files in tests/fixtures/site; their dates are filled in at
serve time so articles are always fresh enough to alert on.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import Message
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.faultserver import FaultServer, Reply

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(__file__).parent / "fixtures" / "site"
HOOK_SECRET = "e2e-webhook-secret"

PAGES = {
    "/articles/lettre-ouverte-amazon": "fr-lettre-amazon.html",
    "/articles/entrepot-lyon": "fr-amazon-entrepot.html",
    "/business/northbridge-bank-jobs": "en-bank-layoffs.html",
}
FEEDS = {
    "/fr/rss.xml": ("rss-fr.xml", "application/rss+xml"),
    "/en/atom.xml": ("atom-en.xml", "application/atom+xml"),
}


def render(name: str, base: str, published: datetime) -> bytes:
    text = (SITE / name).read_text(encoding="utf-8")
    text = text.replace("{{BASE}}", base).replace("{{PUBLISHED}}", published.isoformat())
    return text.replace("{{RFC822}}", format_datetime(published)).encode("utf-8")


def serve_site(server: FaultServer, published: datetime | None = None) -> None:
    """Route the feeds and article pages of the fixture site on ``server``."""
    when = published or datetime.now(UTC) - timedelta(hours=1)
    for path, name in PAGES.items():
        server.route(
            path,
            Reply(
                render(name, server.origin, when),
                headers={"Content-Type": "text/html; charset=utf-8"},
            ),
        )
    for path, (name, ctype) in FEEDS.items():
        server.route(
            path, Reply(render(name, server.origin, when), headers={"Content-Type": ctype})
        )


@dataclass
class MailSink:
    """Messages received by a local aiosmtpd server."""

    port: int = 0
    messages: list[Message] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def mail_sink() -> Iterator[MailSink]:
    # aiosmtpd logs each SMTP exchange at INFO on "mail.log", from its own thread and
    # after the exchange: with the CLI run in process (root at INFO, its handler on a
    # captured stream that closes with the test) those lines would land in the
    # command's stderr or on a closed stream. The sink stays quiet while it runs.
    chatty = logging.getLogger("mail.log")
    level = chatty.level
    chatty.setLevel(logging.WARNING)
    sink = MailSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
        chatty.setLevel(level)


def verify_signature(headers: Mapping[str, str], body: bytes, secret: str = HOOK_SECRET) -> bool:
    """Standard Webhooks, recomputed here independently of monitor.alerts."""
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()
    return any(sig == f"v1,{expected}" for sig in headers["webhook-signature"].split())


class Clock:
    """A clock the test moves by hand (``clock.now = ...``), for code that takes one."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
