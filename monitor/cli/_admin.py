"""``monitor status``, ``monitor alerts [retry]``, ``monitor db upgrade``."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

from monitor.cli._table import scrub, table
from monitor.config import Config
from monitor.observe import redact
from monitor.pipeline import next_digests, utcnow
from monitor.store import (
    ChannelStatus,
    DaemonStatus,
    SourceStatus,
    Store,
    channel_statuses,
    daemon_statuses,
    list_alerts,
    open_store,
    retry_alerts,
    source_statuses,
)
from monitor.text import ago, redact_url


def open_db(config: Config) -> Store:
    """The database, migrated; a StoreError (exit 3) when it does not answer."""
    return open_store(config.database)


def status(config: Config, *, as_json: bool = False) -> int:
    store = open_db(config)
    now = utcnow()
    try:
        configured = {s.name for s in config.sources}
        sources = [s for s in source_statuses(store, now) if s.name in configured]
        channels = channel_statuses(store, list(config.channels))
        daemons = daemon_statuses(store, now)
    finally:
        store.close()
    digests = next_digests(config, {c.name: c.counts.get("digest", 0) for c in channels}, now)
    if as_json:
        doc = status_document(sources, channels, daemons, digests)
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return 0
    running = any(d.state == "alive" for d in daemons)
    rows = [("SOURCE", "STATE", "LAST POLL", "LAST OK", "ART/DAY", "NEXT", "LAST ERROR")]
    for s in sources:
        state = "disabled" if not s.enabled else "ok" if s.ok else f"failing x{s.error_count}"
        error = f"{s.last_error_kind}: {s.last_error}" if s.last_error and not s.ok else ""
        if s.ok and s.last_error_kind == "malformed":  # a good poll of a broken feed
            error = s.last_error or ""
        rows.append(
            (s.name, state, ago(s.last_poll, now), ago(s.last_success, now),
             str(s.articles_last_day), _next(s, now, running), redact(error)[:80])
        )  # fmt: skip
    table(rows)
    print()
    crows = [
        ("CHANNEL", "STATE", "PENDING", "QUEUED", "NEXT DIGEST", "SENT", "FAILED", "DEAD",
         "LAST ERROR")
    ]  # fmt: skip
    for c in channels:
        state = "disabled" if c.disabled else "ok"
        n = c.counts
        crows.append(
            (c.name, state, str(n.get("pending", 0)), str(n.get("digest", 0)),
             _digest_at(digests, c.name, now), str(n.get("sent", 0)),
             str(n.get("failed", 0)), str(n.get("dead", 0)),
             redact(c.disabled_reason or c.last_error or "")[:80])
        )  # fmt: skip
    table(crows)
    print()
    if not daemons:
        print("no daemon has run on this database yet (monitor run)")
        return 0
    drows = [("DAEMON", "STATE", "STARTED", "LAST SEEN")]
    for d in daemons:
        drows.append((f"{d.host} pid {d.pid}", d.state, ago(d.started, now), ago(d.last_seen, now)))
    table(drows)
    if not running:
        print("no daemon is running: nothing is polled until one starts (or run --once runs)")
    return 0


def _next(s: SourceStatus, now: datetime, running: bool) -> str:
    """When the source is polled next; a past time only means "due" if a daemon runs."""
    if not s.enabled:
        return "-"
    if s.next_check is None or s.next_check <= now:
        return "due" if running else "no daemon"
    return ago(s.next_check, now)


def _digest_at(digests: dict[str, datetime | None], name: str, now: datetime) -> str:
    """The next digest in the channel's own time zone, with how far off it is."""
    if name not in digests:
        return "-"
    at = digests[name]
    if at is None:
        return "never"
    return f"{at:%a %Y-%m-%d %H:%M %Z} ({ago(at, now)})"


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _clean(s: SourceStatus) -> bool:
    """Nothing to show: the source is ok and its feed was not recovered from broken XML."""
    return s.ok and s.last_error_kind != "malformed"


def status_document(
    sources: list[SourceStatus],
    channels: list[ChannelStatus],
    daemons: list[DaemonStatus],
    digests: dict[str, datetime | None] | None = None,
) -> dict[str, object]:
    """``monitor status --json``: what the tables show, with full times, for scripts."""
    return {
        "sources": [
            {
                "name": s.name, "url": redact_url(s.url), "enabled": s.enabled, "ok": s.ok,
                "error_count": s.error_count, "last_poll": _when(s.last_poll),
                "last_success": _when(s.last_success), "next_check": _when(s.next_check),
                "articles_last_day": s.articles_last_day, "polls": s.polls,
                "failures": s.failures,
                "last_error_kind": None if _clean(s) else s.last_error_kind,
                "last_error": None if _clean(s) or not s.last_error else redact(s.last_error),
            }
            for s in sources
        ],
        "channels": [
            {
                "name": c.name, "disabled": c.disabled,
                "disabled_reason": redact(c.disabled_reason) if c.disabled_reason else None,
                "last_error": redact(c.last_error) if c.last_error else None,
                "last_success": _when(c.last_success),
                "counts": {k: c.counts.get(k, 0) for k in ("pending", "sent", "failed", "dead")}
                | {"queued": c.counts.get("digest", 0)},
                "next_digest": _when((digests or {}).get(c.name)),
            }
            for c in channels
        ],
        "daemons": [
            {
                "host": d.host, "pid": d.pid, "state": d.state, "started": _when(d.started),
                "last_seen": _when(d.last_seen), "stopped": _when(d.stopped),
            }
            for d in daemons
        ],
    }  # fmt: skip


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
