"""The database: the only package that imports sqlmodel.

Sources are leased atomically, articles are inserted only when new (ON CONFLICT DO
NOTHING ... RETURNING), and alerts go to the outbox in the article's own transaction.
"""

from monitor.store._engine import (
    display_url,
    make_engine,
    migrate,
    normalize_url,
    password_forms,
)
from monitor.store._heartbeats import (
    HEARTBEAT_EVERY,
    DaemonStatus,
    beat,
    daemon_statuses,
    sign_off,
)
from monitor.store._models import (
    ChannelStatus,
    ClaimedSource,
    Delivery,
    Health,
    Inserted,
    NearFinder,
    NewAlert,
    NewArticle,
    OutboxItem,
    SourceSpec,
    SourceStatus,
    StoredArticle,
    StoryDetail,
    StoryLoader,
    StorySummary,
)
from monitor.store._status import (
    Unsent,
    channel_statuses,
    disabled_channels,
    list_alerts,
    outbox_depth,
    retry_alerts,
    source_statuses,
    undelivered,
)
from monitor.store._store import Store, alert_id, open_existing, open_store, store_errors
from monitor.store._tables import metadata
from monitor.store._views import (
    articles_per_day,
    list_deliveries,
    list_stories,
    stories_by_id,
    story_detail,
)

__all__ = [
    "HEARTBEAT_EVERY",
    "ChannelStatus",
    "ClaimedSource",
    "DaemonStatus",
    "Delivery",
    "Health",
    "Inserted",
    "NearFinder",
    "NewAlert",
    "NewArticle",
    "OutboxItem",
    "SourceSpec",
    "SourceStatus",
    "Store",
    "StoredArticle",
    "StoryDetail",
    "StoryLoader",
    "StorySummary",
    "Unsent",
    "alert_id",
    "articles_per_day",
    "beat",
    "channel_statuses",
    "daemon_statuses",
    "disabled_channels",
    "display_url",
    "list_alerts",
    "list_deliveries",
    "list_stories",
    "make_engine",
    "metadata",
    "migrate",
    "normalize_url",
    "open_existing",
    "open_store",
    "outbox_depth",
    "password_forms",
    "retry_alerts",
    "sign_off",
    "source_statuses",
    "store_errors",
    "stories_by_id",
    "story_detail",
    "undelivered",
]
