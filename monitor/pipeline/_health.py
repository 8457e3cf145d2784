"""Health notices: tell someone a source has been failing for a while, and when it is back."""

from __future__ import annotations

import asyncio
import html
import logging
from datetime import UTC, datetime

from monitor.alerts import AlertPayload, ArticleInfo
from monitor.config import SourceConfig
from monitor.observe import event
from monitor.pipeline._runtime import Runtime
from monitor.store import NewAlert, alert_id
from monitor.text import redact_url

log = logging.getLogger("monitor.pipeline.health")


def span(seconds: float) -> str:
    """A duration in words a reader takes in at once: "45 s", "12 min", "6 h 5 min", "2 d 3 h"."""
    total = max(int(seconds), 0)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def notice_text(
    name: str, since: datetime, now: datetime, *, recovered: bool, error: str = ""
) -> tuple[str, str]:
    """The notice's title and body, in plain sentences: since when, for how long, why."""
    lasted = span((now - since).total_seconds())
    if recovered:
        title = f"Source {name} is back after {lasted} of failures"
        body = (
            f"Source {name} polled successfully at {_stamp(now)}. It had been failing "
            f"since {_stamp(since)}, for {lasted}."
        )
        return title, body
    why = " ".join(error.split()) or "no error message"
    title = f"Source {name} has been failing for {lasted}: {why}"[:300]
    body = (
        f"Source {name} has been failing since {_stamp(since)}, for {lasted} now. "
        f"Its last error: {why}. It is still polled, less often; another notice "
        "follows when it is back."
    )
    return title, body


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
    now = rt.clock()
    title, body = notice_text(source.name, since, now, recovered=recovered, error=error)
    state = "recovered" if recovered else "failing"
    article = ArticleInfo(
        url=redact_url(source.url), title=title, source=source.name, published=now,
        language=None, snippet=body, snippet_html=html.escape(body),
    )  # fmt: skip
    payload = AlertPayload("source-health", "", (state,), article).to_json()
    notices = [
        (alert_id(f"source-health:{source.name}:{state}", int(since.timestamp()), ch),
         NewAlert("source-health", ch, payload))
        for ch in limits.notify
    ]  # fmt: skip
    await asyncio.to_thread(rt.db().queue_notices, source_id, not recovered, notices, rt.clock())
    event(log, "source health notice", logging.WARNING, source=source.name, state=state)
