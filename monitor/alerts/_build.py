"""One notifier per configured channel, each built by its own ``from_config``.

A channel type is a config model (``monitor.config``) plus a notifier class with a
``from_config`` here; the table below is the only place that pairs the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from monitor.alerts._apprise import AppriseNotifier
from monitor.alerts._email import EmailNotifier
from monitor.alerts._log import LogNotifier
from monitor.alerts._message import Notifier
from monitor.alerts._webhook import PostFunc, WebhookNotifier

if TYPE_CHECKING:
    from monitor.config import Config


@dataclass(frozen=True)
class ChannelContext:
    """What a notifier needs beyond its own channel's settings."""

    post: PostFunc  # the fetcher's guarded POST, for webhooks
    allow_private: bool  # the config's default for reaching private addresses


NOTIFIER_TYPES: dict[str, Any] = {
    "log": LogNotifier,
    "email": EmailNotifier,
    "webhook": WebhookNotifier,
    "apprise": AppriseNotifier,
}


async def _never_posts(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a notifier built to validate its settings never sends")


def check_channel(channel: Any) -> None:
    """Build the channel's notifier and drop it: ``ConfigError`` if its settings are ones
    the notifier refuses (a subject template, a whsec_ secret, an Apprise URL, a port).
    The config calls this at load, so ``monitor check`` refuses what ``run`` would."""
    NOTIFIER_TYPES[channel.type].from_config(channel, ChannelContext(_never_posts, False))


def build_notifiers(
    config: Config, post: PostFunc, posts: Mapping[str, PostFunc] | None = None
) -> dict[str, Notifier]:
    """One notifier per configured channel; a channel that cannot be built raises
    ``ConfigError`` naming it, before anything is swapped in. ``posts`` gives a channel
    its own POST (a worker's webhook channel gets a connection pool of its own)."""
    allow = config.allow_private_networks
    return {
        name: NOTIFIER_TYPES[ch.type].from_config(
            ch, ChannelContext(post=(posts or {}).get(name, post), allow_private=allow)
        )
        for name, ch in config.channels.items()
    }
