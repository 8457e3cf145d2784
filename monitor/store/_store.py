"""The store: every query, grouped by what it works on.

Every write that must be atomic is one statement or one transaction, so callers never
hold ORM objects or sessions. Calls are synchronous; the pipeline runs them in a worker
thread.
"""

from __future__ import annotations

from monitor.store._articles import ArticleOps
from monitor.store._base import alert_id
from monitor.store._outbox import OutboxOps
from monitor.store._sources import SourceOps


class Store(SourceOps, ArticleOps, OutboxOps):
    """The database: one engine, migrated on demand."""


__all__ = ["Store", "alert_id"]
