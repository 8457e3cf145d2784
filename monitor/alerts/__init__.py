"""Alerts, last stage of the flow: what a matched article becomes and how it is delivered.

The pipeline builds an :class:`AlertPayload` per (rule, story, channel) and the store
keeps it in the outbox; the outbox worker here (:func:`deliver_due`, :func:`deliver_digests`)
leases it, rebuilds the :class:`AlertMessage` and hands it to the channel's notifier.
Notifiers are I/O at the edge: ``LogNotifier`` prints, ``EmailNotifier`` speaks SMTP,
``WebhookNotifier`` POSTs signed JSON, ``AppriseNotifier`` reaches chat and push services;
each is built by its own ``from_config`` (:func:`build_notifiers`). Each raises
:class:`monitor.errors.DeliveryError` on failure, and the outbox retries after
:func:`retry_delay`.
"""

from monitor.alerts._apprise import AppriseNotifier
from monitor.alerts._build import NOTIFIER_TYPES, ChannelContext, build_notifiers, check_channel
from monitor.alerts._digest import (
    channel_caps,
    deliver_digests,
    digest_schedules,
    next_digests,
    send_digest_now,
)
from monitor.alerts._email import EmailNotifier, message_id
from monitor.alerts._log import LogNotifier
from monitor.alerts._message import (
    AlertMessage,
    AlertPayload,
    ArticleInfo,
    Notifier,
    StoryInfo,
    digest_id,
)
from monitor.alerts._outbox import (
    SEND_LEASE,
    DeliveryStats,
    deliver_channel,
    deliver_due,
    message_from,
)
from monitor.alerts._probe import probe_channel
from monitor.alerts._retry import MAX_DELIVERY_AGE, next_attempt, retry_delay
from monitor.alerts._schedule import Schedule, parse_schedule
from monitor.alerts._signing import sign_webhook, verify_webhook
from monitor.alerts._templates import Rendered, Templates
from monitor.alerts._webhook import (
    PostFunc,
    PostResponse,
    WebhookNotifier,
    digest_payload,
    webhook_payload,
)

__all__ = [
    "MAX_DELIVERY_AGE",
    "NOTIFIER_TYPES",
    "SEND_LEASE",
    "AlertMessage",
    "AlertPayload",
    "AppriseNotifier",
    "ArticleInfo",
    "ChannelContext",
    "DeliveryStats",
    "EmailNotifier",
    "LogNotifier",
    "Notifier",
    "PostFunc",
    "PostResponse",
    "Rendered",
    "Schedule",
    "StoryInfo",
    "Templates",
    "WebhookNotifier",
    "build_notifiers",
    "channel_caps",
    "check_channel",
    "deliver_channel",
    "deliver_digests",
    "deliver_due",
    "digest_id",
    "digest_payload",
    "digest_schedules",
    "message_from",
    "message_id",
    "next_attempt",
    "next_digests",
    "parse_schedule",
    "probe_channel",
    "retry_delay",
    "send_digest_now",
    "sign_webhook",
    "verify_webhook",
    "webhook_payload",
]
