"""The ``email`` channel: one multipart (text + HTML) message per alert or digest, over SMTP.

TLS is explicit: ``starttls`` refuses to go on when the server does not offer STARTTLS
(a stripped STARTTLS is the classic downgrade), ``ssl`` speaks TLS from the first byte (port
465), ``none`` is for local mail catchers and never carries credentials.
"""

from __future__ import annotations

import asyncio
import email.policy
import logging
import ssl
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING, Literal

import aiosmtplib

from monitor.alerts._message import AlertMessage, digest_id
from monitor.alerts._probe import probe_html, probe_id, probe_text
from monitor.alerts._render import check_subject_template, render_subject
from monitor.alerts._templates import Templates
from monitor.errors import ConfigError, DeliveryError
from monitor.observe import event

if TYPE_CHECKING:
    from monitor.alerts._build import ChannelContext
    from monitor.config import EmailChannel

logger = logging.getLogger(__name__)

TLSMode = Literal["starttls", "ssl", "none"]
# Headers unfolded (see _compose); bodies 7-bit clean (quoted-printable or base64), so
# the bytes we hand the server suit every server, 8BITMIME or not.
_UNFOLDED = email.policy.SMTP.clone(max_line_length=998, cte_type="7bit")


def message_id(alert_or_digest_id: str) -> str:
    """The Message-ID of an alert's email: fixed by its id, so a resend is recognisable."""
    return f"<{alert_or_digest_id}@news-monitor>"


def _smtp_failure(exc: Exception, where: str) -> DeliveryError:
    """Map an aiosmtplib error to a DeliveryError; SMTP's own 5xx class means permanent."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        return DeliveryError(
            f"SMTP {where} refused every recipient ({', '.join(map(str, codes))})",
            permanent=bool(codes) and all(code >= 500 for code in codes),
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return DeliveryError(
            f"SMTP {where} answered {exc.code}: {exc.message}", permanent=exc.code >= 500
        )
    return DeliveryError(f"SMTP {where} failed: {exc or type(exc).__name__}")


def tls_context(
    tls: TLSMode, ca_file: str | None = None, *, verify: bool = True
) -> ssl.SSLContext | None:
    """The TLS context of a relay: the system's CAs plus ``ca_file`` (a private CA), or
    no certificate check at all when ``verify`` is false; None for the library's default."""
    if tls == "none" or (ca_file is None and verify):
        return None
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise ConfigError(f"smtp ca_file cannot be loaded: {exc}") from None
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class EmailNotifier:
    """Sends each alert as a text + HTML email to every address in ``to``."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        to: Sequence[str],
        tls: TLSMode,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        subject_template: str | None = None,
        tls_context: ssl.SSLContext | None = None,
        templates: Templates | None = None,
    ) -> None:
        if tls not in ("starttls", "ssl", "none"):
            raise ConfigError(f"smtp tls must be starttls, ssl or none, not {tls!r}")
        if password and username is None:
            raise ConfigError("smtp password given without a username")
        if tls == "none" and (username is not None or password):
            raise ConfigError(
                "smtp credentials are never sent without TLS: use tls: starttls or ssl"
            )
        if not host or not 0 < port < 65536:
            raise ConfigError(f"smtp host and port must be valid, got {host!r}:{port}")
        if not sender or not to or not all(to):
            raise ConfigError("an email channel needs a sender and at least one recipient")
        if timeout <= 0:
            raise ConfigError("smtp timeout must be positive")
        if subject_template is not None:
            check_subject_template(subject_template)
        self._host = host
        self._port = port
        self._sender = sender
        self._to = tuple(to)
        self._tls: TLSMode = tls
        self._username = username
        self._password = password
        self._timeout = timeout
        self._subject_template = subject_template
        self._templates = templates or Templates()
        self._tls_context = tls_context
        self._where = f"{host}:{port}"

    @classmethod
    def from_config(cls, channel: EmailChannel, ctx: ChannelContext) -> EmailNotifier:
        smtp = channel.smtp
        return cls(
            host=smtp.host,
            port=smtp.port,
            sender=channel.from_,
            to=channel.to,
            tls=smtp.tls,
            username=smtp.username,
            password=smtp.password,
            timeout=smtp.timeout,
            subject_template=channel.subject,
            tls_context=tls_context(smtp.tls, smtp.ca_file, verify=smtp.verify),
            templates=Templates.from_channel(channel),
        )

    def _compose(
        self, *, ident: str, subject: str, text: str, html: str, date: datetime, label: str
    ) -> EmailMessage:
        # No folding: Python folds a long Subject before a word that needs encoding and
        # keeps the space on both sides of the fold, so readers see a doubled space (or
        # a leading one); RFC 5322 allows 998 characters a line, subjects stop at 200.
        msg = EmailMessage(policy=_UNFOLDED)
        msg["Subject"] = subject
        msg["From"] = self._sender
        msg["To"] = ", ".join(self._to)
        msg["Date"] = format_datetime(date if date.tzinfo else date.replace(tzinfo=UTC))
        msg["Message-ID"] = message_id(ident)
        # RFC 3834: tells autoresponders and vacation replies not to answer the monitor.
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-News-Monitor-Alert"] = label
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
        return msg

    async def _session(
        self, smtp: aiosmtplib.SMTP, msg: EmailMessage
    ) -> tuple[dict[str, str], str]:
        await smtp.connect()
        if self._tls == "starttls":
            await smtp.ehlo()
            if not smtp.supports_extension("starttls"):
                raise DeliveryError(
                    f"SMTP {self._where} does not offer STARTTLS; refusing to send in clear "
                    "(tls: starttls)"
                )
            await smtp.starttls()
        if self._username is not None:
            await smtp.login(self._username, self._password or "")
        # Flattened here, not by send_message: aiosmtplib would refold the headers at
        # 78 columns, and a Subject folded right after its colon reads back as " [alert]..."
        refused, reply = await smtp.sendmail(self._sender, list(self._to), msg.as_bytes())
        return {address: str(response) for address, response in refused.items()}, reply

    async def _transmit(self, msg: EmailMessage) -> str:
        """Send ``msg``; returns the server's final reply (aiosmtplib raises on any but 250)."""
        smtp = aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            timeout=self._timeout,
            use_tls=self._tls == "ssl",
            # Never the library's opportunistic STARTTLS: the mode says exactly what happens.
            start_tls=False,
            tls_context=self._tls_context,
        )
        try:
            # One bound for the whole session: a server answering each command just under
            # the per-command timeout must not hold a delivery worker indefinitely.
            async with asyncio.timeout(self._timeout):
                refused, reply = await self._session(smtp, msg)
        except TimeoutError:
            raise DeliveryError(f"SMTP {self._where} timed out after {self._timeout:g} s") from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise _smtp_failure(exc, self._where) from exc
        finally:
            await self._close(smtp)
        if refused:
            # Part of the recipients got it: a retry would send them a duplicate.
            event(
                logger, "some recipients were refused", logging.WARNING,
                refused=",".join(sorted(refused)), smtp=self._where,
            )  # fmt: skip
        return f"250 {' '.join(reply.split())}" + (
            f" (refused: {', '.join(sorted(refused))})" if refused else ""
        )

    @staticmethod
    async def _close(smtp: aiosmtplib.SMTP) -> None:
        if not smtp.is_connected:
            return
        try:
            await asyncio.wait_for(smtp.quit(), timeout=2.0)
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            smtp.close()

    async def send(self, message: AlertMessage) -> None:
        """Email one alert; raise ``DeliveryError`` if the server does not accept it."""
        parts = self._templates.alert(message)
        subject = parts.subject
        if self._subject_template is not None:
            subject = render_subject(self._subject_template, message)
        msg = self._compose(
            ident=message.id,
            subject=subject,
            text=parts.text,
            html=parts.html,
            date=message.created or datetime.now(UTC),
            label=message.alert,
        )
        await self._transmit(msg)
        event(
            logger, "email sent", alert=message.alert, alert_id=message.id,
            url=message.article.url, smtp=self._where, status="accepted",
        )  # fmt: skip

    async def probe(self, channel: str) -> str:
        """Email a message marked as a test (``monitor channels test``); returns the
        server's reply, raises ``DeliveryError`` as a real alert would."""
        now = datetime.now(UTC)
        msg = self._compose(
            ident=probe_id(channel, now),
            subject=f"[news-monitor] TEST of channel {channel}",
            text=probe_text(channel, now),
            html=probe_html(channel, now),
            date=now,
            label=f"test:{channel}",
        )
        msg["X-News-Monitor-Test"] = "yes"
        reply = await self._transmit(msg)
        return f"SMTP {self._where} accepted the test message: {reply}"

    async def send_digest(self, name: str, messages: Sequence[AlertMessage]) -> None:
        """Email one digest listing every story; an empty digest sends nothing."""
        if not messages:
            return
        parts = self._templates.digest(name, messages)
        msg = self._compose(
            ident=digest_id(name, messages),
            subject=parts.subject,
            text=parts.text,
            html=parts.html,
            date=datetime.now(UTC),
            label=name,
        )
        await self._transmit(msg)
        event(logger, "email digest sent", digest=name, alerts=len(messages), smtp=self._where)
