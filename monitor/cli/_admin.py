"""``monitor status``, ``monitor alerts [retry]``, ``monitor db upgrade``."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

from monitor.cli._table import scrub, table
from monitor.config import Config
from monitor.pipeline import utcnow
from monitor.store import (
    Store,
    channel_statuses,
    list_alerts,
    open_store,
    retry_alerts,
    source_statuses,
)
from monitor.text import ago


def open_db(config: Config) -> Store:
    """The database, migrated; a StoreError (exit 3) when it does not answer."""
    return open_store(config.database)


def status(config: Config) -> int:
    store = open_db(config)
    now = utcnow()
    try:
        sources = source_statuses(store, now)
        channels = channel_statuses(store, list(config.channels))
    finally:
        store.close()
    configured = {s.name for s in config.sources}
    rows = [("SOURCE", "STATE", "LAST POLL", "LAST OK", "ART/DAY", "NEXT", "LAST ERROR")]
    for s in sources:
        if s.name not in configured:
            continue
        state = "disabled" if not s.enabled else "ok" if s.ok else f"failing x{s.error_count}"
        error = f"{s.last_error_kind}: {s.last_error}" if s.last_error and not s.ok else ""
        rows.append(
            (s.name, state, ago(s.last_poll, now), ago(s.last_success, now),
             str(s.articles_last_day), ago(s.next_check, now), error[:80])
        )  # fmt: skip
    table(rows)
    print()
    crows = [("CHANNEL", "STATE", "PENDING", "SENT", "FAILED", "DEAD", "LAST ERROR")]
    for c in channels:
        state = "disabled" if c.disabled else "ok"
        n = c.counts
        crows.append(
            (c.name, state, str(n.get("pending", 0)), str(n.get("sent", 0)),
             str(n.get("failed", 0)), str(n.get("dead", 0)),
             (c.disabled_reason or c.last_error or "")[:80])
        )  # fmt: skip
    table(crows)
    return 0


def retry(config: Config, alert_id: str | None) -> int:
    """`alerts retry [ID]`: one alert (any status) or every dead one, queued again."""
    store = open_db(config)
    try:
        n = retry_alerts(store, utcnow(), alert_id)
    finally:
        store.close()
    if alert_id and not n:
        print(f"error: no alert with id {alert_id!r} (monitor alerts lists them)", file=sys.stderr)
        return 1
    print(f"{n} alert(s) queued for delivery")
    return 0


def alerts(config: Config, status_filter: str | None, limit: int, *, as_json: bool) -> int:
    """`alerts [list]`: newest first, as a table or (``--json``) one JSON array."""
    store = open_db(config)
    try:
        rows = list_alerts(store, status_filter, limit)
    finally:
        store.close()
    if as_json:
        print(json.dumps([_alert_json(r) for r in rows], ensure_ascii=False, indent=2))
        return 0
    out = [("ALERT ID", "RULE", "CHANNEL", "STATUS", "TRIES", "CREATED", "TITLE")]
    for r in rows:
        created = r["created"]
        when = created.strftime("%Y-%m-%d %H:%M") if isinstance(created, datetime) else ""
        out.append(
            (str(r["alert_id"]), str(r["rule"]), str(r["channel"]), str(r["status"]),
             str(r["attempts"]), when, str(r["title"])[:60])
        )  # fmt: skip
    table(out)
    return 0


def _alert_json(row: dict[str, object]) -> dict[str, object]:
    def when(value: object) -> str | None:
        if not isinstance(value, datetime):
            return None
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.isoformat()

    return {
        "id": row["alert_id"], "rule": row["rule"], "channel": row["channel"],
        "status": row["status"], "attempts": row["attempts"], "created": when(row["created"]),
        "next_attempt": when(row["next_attempt"]), "sent_at": when(row["sent_at"]),
        "last_error": scrub(str(row["last_error"])) if row["last_error"] else None,
        "title": row["title"], "url": row["url"],
    }  # fmt: skip
