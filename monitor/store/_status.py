"""Read-side queries for `monitor status` and `monitor alerts`, and manual retries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from monitor.store._base import articles_t, aware_utc, channels_t, outbox_t, sources_t
from monitor.store._models import ChannelStatus, SourceStatus
from monitor.store._store import Store, store_errors


@store_errors
def source_statuses(store: Store, now: datetime) -> list[SourceStatus]:
    s = sources_t.c
    day_ago = now - timedelta(days=1)
    recent = (
        sa.select(articles_t.c.source, sa.func.count().label("n"))
        .where(articles_t.c.first_seen >= day_ago)
        .group_by(articles_t.c.source)
    )
    with store.engine.connect() as conn:
        per_day = {row.source: row.n for row in conn.execute(recent)}
        rows = conn.execute(sa.select(sources_t).order_by(s.name)).all()
    return [
        SourceStatus(
            name=r.name,
            url=r.url,
            enabled=r.enabled,
            ok=r.error_count == 0,
            last_poll=r.last_poll,
            last_success=r.last_success,
            last_error=r.last_error,
            last_error_kind=r.last_error_kind,
            error_count=r.error_count,
            next_check=r.next_check,
            polls=r.polls,
            failures=r.failures,
            articles_seen=r.articles_seen,
            articles_last_day=per_day.get(r.name, 0),
        )
        for r in rows
    ]


@store_errors
def channel_statuses(store: Store, names: list[str]) -> list[ChannelStatus]:
    """One row per channel named in the config, plus any the outbox still mentions."""
    o = outbox_t.c
    with store.engine.connect() as conn:
        counts: dict[str, dict[str, int]] = {}
        for channel, status, n in conn.execute(
            sa.select(o.channel, o.status, sa.func.count()).group_by(o.channel, o.status)
        ):
            counts.setdefault(channel, {})[status] = n
        state = {r.name: r for r in conn.execute(sa.select(channels_t)).all()}
    out = []
    for name in sorted(set(names) | set(counts)):
        row = state.get(name)
        out.append(
            ChannelStatus(
                name=name,
                disabled=bool(row and row.disabled),
                disabled_reason=row.disabled_reason if row else None,
                last_error=row.last_error if row else None,
                last_success=row.last_success if row else None,
                counts=counts.get(name, {}),
            )
        )
    return out


@store_errors
def list_alerts(
    store: Store, status: str | None = None, limit: int = 50
) -> list[dict[str, object]]:
    o = outbox_t.c
    query = (
        sa.select(
            o.alert_id, o.rule, o.channel, o.status, o.attempts, o.created,
            o.next_attempt, o.sent_at, o.last_error, articles_t.c.title, articles_t.c.url,
        )
        .join(articles_t, articles_t.c.id == o.article_id)
        .order_by(o.id.desc())
        .limit(limit)
    )  # fmt: skip
    if status:
        # "queued" is what users call alerts waiting for a digest; the row says "digest".
        query = query.where(o.status == ("digest" if status == "queued" else status))
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


@store_errors
def retry_alerts(store: Store, now: datetime, alert_id: str | None = None) -> int:
    """Queue one alert (any status) or every dead one for another delivery."""
    o = outbox_t.c
    where = o.alert_id == alert_id if alert_id else o.status == "dead"
    with store.engine.begin() as conn:
        result = conn.execute(
            sa.update(outbox_t)
            .where(where)
            .values(status="pending", next_attempt=now, lease_until=None)
        )
    return int(result.rowcount)


@store_errors
def outbox_depth(store: Store) -> dict[str, int]:
    """Undelivered alerts (pending or failed) per channel, for the metrics gauge."""
    o = outbox_t.c
    query = (
        sa.select(o.channel, sa.func.count())
        .where(o.status.in_(("pending", "failed")))
        .group_by(o.channel)
    )
    with store.engine.connect() as conn:
        return {channel: int(n) for channel, n in conn.execute(query)}


@store_errors
def digest_depth(store: Store) -> dict[str, int]:
    """Alerts waiting for their channel's next digest, per channel (status and metrics)."""
    o = outbox_t.c
    query = sa.select(o.channel, sa.func.count()).where(o.status == "digest").group_by(o.channel)
    with store.engine.connect() as conn:
        return {channel: int(n) for channel, n in conn.execute(query)}


@store_errors
def disabled_channels(store: Store) -> dict[str, str]:
    """Channels disabled by a permanent failure, with the reason."""
    c = channels_t.c
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(c.name, c.disabled_reason).where(c.disabled.is_(True)))
        return {name: reason or "" for name, reason in rows}


@dataclass(frozen=True)
class Unsent:
    """Alerts of one channel that a ``run --once`` leaves undelivered, and why."""

    channel: str
    count: int
    disabled: bool
    reason: str
    next_attempt: datetime | None = None

    def describe(self) -> str:
        why = " ".join(self.reason.split())[:160]
        if self.disabled:
            return f"channel {self.channel} disabled: {why}"
        if why:
            return f"channel {self.channel}: {why}"
        when = f"next try {self.next_attempt:%Y-%m-%d %H:%M} UTC" if self.next_attempt else "later"
        return f"channel {self.channel}: {when}"


@store_errors
def undelivered(
    store: Store, channels: Sequence[str], dead: Mapping[str, int] | None = None
) -> list[Unsent]:
    """Per channel: alerts still pending or failed, plus ``dead`` (alerts given up on
    during the run), with the channel's reason (its disabled reason, else last error)."""
    o, c = outbox_t.c, channels_t.c
    query = (
        sa.select(o.channel, sa.func.count(), sa.func.min(o.next_attempt))
        .where(o.status.in_(("pending", "failed")), o.channel.in_(list(channels)))
        .group_by(o.channel)
    )
    with store.engine.connect() as conn:
        waiting = {ch: (int(n), nxt) for ch, n, nxt in conn.execute(query)}
        state = {
            r.name: r for r in conn.execute(sa.select(channels_t).where(c.name.in_(list(channels))))
        }
    out = []
    for name in sorted(set(waiting) | {ch for ch, n in (dead or {}).items() if n}):
        n, nxt = waiting.get(name, (0, None))
        row = state.get(name)
        disabled = bool(row and row.disabled)
        reason = (row.disabled_reason if disabled else row.last_error) if row else None
        out.append(
            Unsent(name, n + (dead or {}).get(name, 0), disabled, reason or "", aware_utc(nxt))
        )
    return out
