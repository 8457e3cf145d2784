"""The ``webhook`` channel: a signed JSON POST per alert (or per digest).

The payload is documented by ``docs/webhook.schema.json``. The HTTP request itself goes
through the ``post`` function the pipeline passes in (``monitor.fetch.Fetcher.post``), so
the SSRF guard, timeouts and size caps of ``fetch`` apply to webhooks too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from monitor.alerts._message import AlertMessage, digest_id, iso_utc
from monitor.alerts._probe import probe_id, probe_text
from monitor.alerts._signing import secret_key, signature_header_keys
from monitor.errors import BlockedAddress, ConfigError, DeliveryError, FetchError, HTTPStatusError
from monitor.observe import event
from monitor.text import header_value, parse_retry_after

if TYPE_CHECKING:
    from monitor.alerts._build import ChannelContext
    from monitor.config import WebhookChannel

logger = logging.getLogger(__name__)


class PostResponse(Protocol):
    """What the notifier reads of the receiver's answer."""

    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def body(self) -> bytes: ...


class PostFunc(Protocol):
    """An HTTP POST that never follows redirects and raises ``FetchError`` on failure."""

    async def __call__(
        self,
        url: str,
        content: bytes,
        headers: Mapping[str, str],
        *,
        allow_private: bool,
        # The fetcher owns the request deadline (connect, read, total), hence the parameter.
        timeout: float,  # noqa: ASYNC109
    ) -> PostResponse: ...


def webhook_payload(message: AlertMessage) -> dict[str, object]:
    """The JSON object POSTed for one alert (see ``docs/webhook.schema.json``): the stored
    payload itself, with the alert's id, its creation time and its story."""
    payload: dict[str, object] = {"type": "alert", "id": message.id}
    payload.update(message.payload().to_json())
    payload["created"] = iso_utc(message.created)
    if message.story is not None:
        story: dict[str, object] = {"id": message.story.id, "outlets": list(message.story.outlets)}
        if message.story.links:  # additive: each outlet's copy, where the store knows it
            story["links"] = dict(message.story.links)
        payload["story"] = story
    return payload


def digest_payload(name: str, messages: Sequence[AlertMessage]) -> dict[str, object]:
    """The JSON object POSTed for a digest: its alerts, each as :func:`webhook_payload`."""
    return {
        "type": "digest",
        "id": digest_id(name, messages),
        "digest": name,
        "count": len(messages),
        "alerts": [webhook_payload(m) for m in messages],
    }


def _where(url: str) -> str:
    # Chat webhooks carry their token in the path (Slack, Discord): errors and logs show
    # only the origin so a secret URL never reaches the status table.
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _status_error(status: int, retry_after: float | None, body: bytes, where: str) -> None:
    """Raise the DeliveryError a non-2xx answer means; return on 2xx."""
    if 200 <= status < 300:
        return
    excerpt = " ".join(body[:200].decode("utf-8", "replace").split())
    detail = f"webhook {where} answered {status}" + (f": {excerpt}" if excerpt else "")
    if status == 410:
        # Standard Webhooks: 410 Gone is the receiver asking us to stop for good.
        raise DeliveryError(f"{detail}; the receiver is gone, disable this channel", permanent=True)
    if 300 <= status < 400:
        # A signed request is meant for one endpoint: following it elsewhere would hand
        # the alert (and a valid signature) to whoever controls the Location.
        raise DeliveryError(f"{detail}; redirects are not followed, fix the channel's URL")
    raise DeliveryError(detail, retry_after=retry_after)


class WebhookNotifier:
    """POSTs alerts as JSON, signed per Standard Webhooks with every given secret."""

    def __init__(
        self,
        *,
        url: str,
        secrets: Sequence[str],
        post: PostFunc,
        allow_private: bool = False,
        timeout: float = 15.0,
    ) -> None:
        if urlsplit(url).scheme.lower() not in ("http", "https") or not urlsplit(url).hostname:
            raise ConfigError(f"webhook URL must be http(s) with a host, got {_where(url)}")
        # An empty secret is an unset ${VAR}: the bundled example keeps such a channel ready
        # to switch on, so it must not stop the daemon; it refuses to send instead.
        secrets = [s for s in secrets if s]
        # A malformed whsec_ fails at startup, not at the first alert; decoded once here.
        self._keys = tuple(secret_key(secret) for secret in secrets)
        if timeout <= 0:
            raise ConfigError("webhook timeout must be positive")
        self._url = url
        self._secrets = tuple(secrets)
        self._post = post
        self._allow_private = allow_private
        self._timeout = timeout

    @classmethod
    def from_config(cls, channel: WebhookChannel, ctx: ChannelContext) -> WebhookNotifier:
        allow = channel.allow_private_networks
        return cls(
            url=channel.url,
            secrets=channel.secrets,
            post=ctx.post,
            allow_private=ctx.allow_private if allow is None else allow,
            timeout=channel.timeout,
        )

    async def _deliver(self, msg_id: str, payload: dict[str, object]) -> int:
        if not self._secrets:
            raise DeliveryError(
                f"webhook {_where(self._url)} has no secret: webhooks are always signed, "
                "set the channel's secret",
                permanent=True,
            )
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header_keys(self._keys, msg_id, timestamp, body),
        }
        where = _where(self._url)
        try:
            # The post function enforces the timeout itself; this outer bound only
            # guarantees a stuck transport can never hold a delivery worker forever.
            async with asyncio.timeout(self._timeout + 1.0):
                response = await self._post(
                    self._url,
                    body,
                    headers,
                    allow_private=self._allow_private,
                    timeout=self._timeout,
                )
        except TimeoutError:
            raise DeliveryError(f"webhook {where} timed out after {self._timeout:g} s") from None
        except HTTPStatusError as exc:
            _status_error(exc.status, exc.retry_after, b"", where)
            raise DeliveryError(f"webhook {where} failed: {exc}") from exc
        except BlockedAddress as exc:
            raise DeliveryError(
                f"webhook {where} is not allowed: {exc} (allow_private_networks?)",
                permanent=True,
            ) from exc
        except FetchError as exc:
            raise DeliveryError(f"webhook {where} failed ({exc.kind}): {exc}") from exc
        retry_after = parse_retry_after(header_value(response.headers, "retry-after"))
        _status_error(response.status, retry_after, response.body, where)
        return response.status

    async def send(self, message: AlertMessage) -> None:
        """POST one alert; raise ``DeliveryError`` unless the receiver answers 2xx."""
        status = await self._deliver(message.id, webhook_payload(message))
        # Debug: the outbox logs the alert's outcome; this line would double it per send.
        event(
            logger, "webhook delivered", logging.DEBUG, alert=message.alert, alert_id=message.id,
            url=message.article.url, webhook=_where(self._url), status=status,
        )  # fmt: skip

    async def probe(self, channel: str) -> str:
        """POST a body of ``"type": "test"`` (``monitor channels test``); returns the
        receiver's status, raises ``DeliveryError`` as a real alert would."""
        now = datetime.now(UTC)
        ident = probe_id(channel, now)
        payload: dict[str, object] = {
            "type": "test",
            "id": ident,
            "channel": channel,
            "created": iso_utc(now),
            "text": probe_text(channel, now).strip(),
        }
        status = await self._deliver(ident, payload)
        return f"webhook {_where(self._url)} answered HTTP {status}"

    async def send_digest(self, name: str, messages: Sequence[AlertMessage]) -> None:
        """POST one digest carrying every alert; an empty digest sends nothing."""
        if not messages:
            return
        status = await self._deliver(digest_id(name, messages), digest_payload(name, messages))
        event(
            logger, "webhook digest delivered", digest=name, webhook=_where(self._url),
            status=status,
        )  # fmt: skip
