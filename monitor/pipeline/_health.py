"""Health notices: tell someone a source has been failing for a while, and when it is back."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from monitor.alerts import AlertPayload, ArticleInfo
from monitor.config import SourceConfig
from monitor.observe import event
from monitor.pipeline._runtime import Runtime
from monitor.store import NewAlert, alert_id

log = logging.getLogger("monitor.pipeline.health")


async def health_notice(
    rt: Runtime,
    source: SourceConfig,
    source_id: int,
    since: datetime,
    *,
    recovered: bool,
    error: str = "",
) -> None:
    """Queue a notice that a source has been failing (or is back), once per streak."""
    limits = rt.config.health
    if limits is None:
        return
    hours = (rt.clock() - since).total_seconds() / 3600
    title = (
        f"Source {source.name} is back after {hours:.1f} h of failures"
        if recovered
        else f"Source {source.name} has been failing for {hours:.1f} h: {error}"
    )
    state = "recovered" if recovered else "failing"
    now = rt.clock()
    article = ArticleInfo(
        url=source.url, title=title, source=source.name, published=now,
        language=None, snippet=title, snippet_html="",
    )  # fmt: skip
    payload = AlertPayload("source-health", "", (state,), article).to_json()
    notices = [
        (alert_id(f"source-health:{source.name}:{state}", int(since.timestamp()), ch),
         NewAlert("source-health", ch, payload))
        for ch in limits.notify
    ]  # fmt: skip
    await asyncio.to_thread(rt.db().queue_notices, source_id, not recovered, notices, rt.clock())
    event(log, "source health notice", logging.WARNING, source=source.name, state=state)
