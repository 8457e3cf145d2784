"""The database: the only package that imports sqlmodel.

Sources are leased atomically, articles are inserted only when new (ON CONFLICT DO
NOTHING ... RETURNING), and alerts go to the outbox in the article's own transaction.
"""

from monitor.store._engine import is_postgres, libpq_url, make_engine, migrate, normalize_url
from monitor.store._models import (
    BandQuery,
    ChannelStatus,
    ClaimedSource,
    Delivery,
    Health,
    Inserted,
    NearFinder,
    NewAlert,
    NewArticle,
    OutboxItem,
    RuleChanges,
    RuleSpec,
    SourceSpec,
    SourceStatus,
    StoredArticle,
    StoryCandidate,
    StoryDetail,
    StoryLoader,
    StorySummary,
)
from monitor.store._rules import RULES_CHANNEL, RuleListener
from monitor.store._sources import host_key
from monitor.store._status import (
    channel_statuses,
    list_alerts,
    outbox_depth,
    retry_alerts,
    source_statuses,
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
    "RULES_CHANNEL",
    "BandQuery",
    "ChannelStatus",
    "ClaimedSource",
    "Delivery",
    "Health",
    "Inserted",
    "NearFinder",
    "NewAlert",
    "NewArticle",
    "OutboxItem",
    "RuleChanges",
    "RuleListener",
    "RuleSpec",
    "SourceSpec",
    "SourceStatus",
    "Store",
    "StoredArticle",
    "StoryCandidate",
    "StoryDetail",
    "StoryLoader",
    "StorySummary",
    "alert_id",
    "articles_per_day",
    "channel_statuses",
    "host_key",
    "is_postgres",
    "libpq_url",
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
    "retry_alerts",
    "source_statuses",
    "store_errors",
    "stories_by_id",
    "story_detail",
]
