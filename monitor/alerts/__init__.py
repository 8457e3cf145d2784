"""Alerts, last stage of the flow: what a matched article becomes and how it is delivered.

The pipeline builds an :class:`AlertMessage` per (rule, story, channel); the outbox (in
``store``) keeps it until a notifier here has delivered it. Notifiers are I/O at the edge:
``LogNotifier`` prints, ``EmailNotifier`` speaks SMTP, ``WebhookNotifier`` POSTs signed JSON,
``AppriseNotifier`` reaches chat and push services.
Each raises :class:`monitor.errors.DeliveryError` on failure, and the outbox retries after
:func:`retry_delay`.
"""

from monitor.alerts._apprise import AppriseNotifier
from monitor.alerts._backoff import retry_delay
from monitor.alerts._email import EmailNotifier, message_id
from monitor.alerts._log import LogNotifier
from monitor.alerts._message import (
    AlertMessage,
    ArticleInfo,
    Notifier,
    StoryInfo,
    alert_id,
    digest_id,
)
from monitor.alerts._signing import sign_webhook, verify_webhook
from monitor.alerts._webhook import (
    PostFunc,
    PostResponse,
    WebhookNotifier,
    digest_payload,
    webhook_payload,
)

__all__ = [
    "AlertMessage",
    "AppriseNotifier",
    "ArticleInfo",
    "EmailNotifier",
    "LogNotifier",
    "Notifier",
    "PostFunc",
    "PostResponse",
    "StoryInfo",
    "WebhookNotifier",
    "alert_id",
    "digest_id",
    "digest_payload",
    "message_id",
    "retry_delay",
    "sign_webhook",
    "verify_webhook",
    "webhook_payload",
]
