"""The alert outbox: lease due alerts, record each attempt, channel state."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.store._base import (
    MAX_ERROR,
    StoreBase,
    articles_t,
    aware_utc,
    channels_t,
    outbox_t,
    outlets_of,
)
from monitor.store._models import (
    OutboxItem,
)


class OutboxOps(StoreBase):
    """Alerts waiting in the outbox, their attempts, and the state of each channel."""

    def claim_outbox(
        self,
        now: datetime,
        lease: timedelta,
        limit: int = 50,
        channels: Sequence[str] = (),
        owner: str | None = None,
        *,
        resume: bool = False,
    ) -> list[OutboxItem]:
        """Lease due alerts of these channels; a worker that dies mid-send frees them
        when the lease ends (or at once, when its death is known: ``reclaim_dead``).

        With ``resume``, rows already leased by ``owner`` are taken again at once (a
        retried job resumes its own sends). Each claim writes a fresh token into the
        rows (the items' ``lease_token``), which ``mark_sent``/``mark_failed`` are
        fenced by.
        """
        o = outbox_t.c
        mine = o.lease_owner == owner if resume and owner is not None else None
        due = sa.and_(_due(now, mine), o.channel.in_(list(channels)))
        return self._lease(due, now, lease, owner, limit)

    def channels_due(self, now: datetime) -> list[str]:
        """Enabled channels with alerts due now and not leased (the outbox sweeper)."""
        stmt = sa.select(outbox_t.c.channel).where(_due(now)).distinct()
        with self.engine.connect() as conn:
            return sorted(conn.execute(stmt).scalars())

    def _lease(
        self,
        where: sa.ColumnElement[bool],
        now: datetime,
        lease: timedelta,
        owner: str | None,
        limit: int,
    ) -> list[OutboxItem]:
        o = outbox_t.c
        token = uuid.uuid4().hex
        # SKIP LOCKED: two workers on PostgreSQL never lease the same alert.
        picked = (
            sa.select(o.id)
            .where(where)
            .order_by(o.next_attempt, o.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        stmt = (
            sa.update(outbox_t)
            .where(o.id.in_(picked))
            .values(lease_until=now + lease, lease_owner=owner, lease_token=token)
            .returning(
                o.id, o.alert_id, o.rule, o.channel, o.story_id, o.article_id,
                o.payload, o.attempts, o.created,
            )
        )  # fmt: skip
        with self.engine.begin() as conn:
            rows = conn.execute(stmt).all()
            stories = {r.story_id for r in rows if r.story_id is not None}
            outlets = outlets_of(conn, stories)
            links = outlet_links(conn, stories)
        items = [
            OutboxItem(
                id=r.id,
                alert_id=r.alert_id,
                rule=r.rule,
                channel=r.channel,
                story_id=r.story_id,
                article_id=r.article_id,
                payload=json.loads(r.payload),
                attempts=r.attempts,
                created=r.created,
                outlets=outlets.get(r.story_id, ()),
                lease_token=token,
                outlet_links=links.get(r.story_id, {}),
            )
            for r in rows
        ]
        return sorted(items, key=lambda i: i.id)

    def mark_sent(self, item_id: int, now: datetime, *, token: str | None = None) -> bool:
        """Record a delivery; with ``token``, only while the row is still leased under it.

        Returns whether the row was marked: False means another claim owns it now.
        """
        return bool(self.mark_sent_many([item_id], now, token))

    def mark_sent_many(
        self, item_ids: Sequence[int], now: datetime, token: str | None
    ) -> list[int]:
        """Record a group of deliveries of one claim in one transaction, fenced by its
        ``token`` as ``mark_sent`` is (None: unfenced); returns the ids marked (the others
        belong to another claim now). One statement per group: the worker's CPU per send."""
        if not item_ids:
            return []
        o = outbox_t.c
        fence = sa.true() if token is None else o.lease_token == token
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.update(outbox_t)
                .where(o.id.in_(list(item_ids)), fence)
                .values(
                    attempts=o.attempts + 1, lease_until=None, lease_owner=None,
                    lease_token=None, status="sent", sent_at=now,
                )
                .returning(o.id, o.channel)
            ).all()  # fmt: skip
            counts: dict[str, int] = {}
            for row in rows:
                counts[row.channel] = counts.get(row.channel, 0) + 1
            for channel, n in counts.items():
                self._channel_event(conn, channel, success=now, delivered=n)
        return sorted(row.id for row in rows)

    def mark_failed(
        self,
        item_id: int,
        now: datetime,
        error: str,
        next_attempt: datetime | None,
        *,
        token: str | None = None,
    ) -> bool:
        """Record a failed attempt; ``next_attempt`` None means give up (dead). Fenced by
        ``token`` as ``mark_sent`` is."""
        status = "failed" if next_attempt is not None else "dead"
        values = {"status": status, "next_attempt": next_attempt, "last_error": error[:MAX_ERROR]}
        return self._end_attempt(item_id, values, token, error=error)

    def _end_attempt(
        self, item_id: int, values: dict[str, Any], token: str | None, **channel_event: Any
    ) -> bool:
        """Count the attempt, free the lease and note it on the channel, in one transaction."""
        o = outbox_t.c
        fence = sa.true() if token is None else o.lease_token == token
        with self.engine.begin() as conn:
            channel = conn.execute(
                sa.update(outbox_t)
                .where(o.id == item_id, fence)
                .values(
                    attempts=o.attempts + 1, lease_until=None, lease_owner=None,
                    lease_token=None, **values,
                )
                .returning(o.channel)
            ).scalar()  # fmt: skip
            if channel is not None:
                self._channel_event(conn, channel, **channel_event)
        return channel is not None

    def disable_channel(self, name: str, reason: str) -> None:
        with self.engine.begin() as conn:
            self._channel_event(conn, name, error=reason, disable=reason)

    def _channel_event(
        self,
        conn: Connection,
        name: str,
        *,
        success: datetime | None = None,
        error: str | None = None,
        disable: str | None = None,
        delivered: int = 1,
    ) -> None:
        conn.execute(
            self._insert(channels_t)
            .values(name=name)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        c = channels_t.c
        values: dict[str, Any] = {}
        if success is not None:
            # A delivery that went through ends the channel's error: status shows none.
            values.update(last_success=success, delivered=c.delivered + delivered, last_error=None)
        if error is not None:
            values.update(last_error=error[:MAX_ERROR], failures=c.failures + 1)
        if disable is not None:
            values.update(disabled=True, disabled_reason=disable[:MAX_ERROR])
        conn.execute(sa.update(channels_t).where(c.name == name).values(**values))

    def enable_channels(self, names: Sequence[str]) -> None:
        """Config reload or restart: a channel the user still lists is tried again."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(channels_t)
                .where(channels_t.c.name.in_(list(names)))
                .values(disabled=False, disabled_reason=None)
            )

    def next_outbox_attempt(self, channels: Sequence[str]) -> datetime | None:
        """When the next undelivered alert for these channels is due, if any."""
        o = outbox_t.c
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(sa.func.min(o.next_attempt)).where(
                    o.status.in_(("pending", "failed")), o.channel.in_(list(channels))
                )
            ).scalar()
        return aware_utc(value)

    # Digests: rows in status "digest" wait for their channel's next digest.

    def digest_state(self, channel: str) -> tuple[datetime | None, datetime | None]:
        """(when the last digest went out, when the oldest waiting alert was created)."""
        with self.engine.connect() as conn:
            last = conn.execute(
                sa.select(channels_t.c.last_digest).where(channels_t.c.name == channel)
            ).scalar()
            oldest = conn.execute(
                sa.select(sa.func.min(outbox_t.c.created)).where(
                    outbox_t.c.channel == channel, outbox_t.c.status == "digest"
                )
            ).scalar()
        return aware_utc(last), aware_utc(oldest)

    def claim_digest(
        self, channel: str, now: datetime, lease: timedelta, owner: str | None = None
    ) -> list[OutboxItem]:
        """Lease every alert waiting for this channel's digest."""
        o = outbox_t.c
        waiting = sa.and_(
            o.channel == channel,
            o.status == "digest",
            sa.or_(o.lease_until.is_(None), o.lease_until < now),
        )
        return self._lease(waiting, now, lease, owner, limit=10_000)

    def finish_digest(self, ids: Sequence[int], channel: str, now: datetime) -> None:
        o = outbox_t.c
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(outbox_t)
                .where(o.id.in_(list(ids)))
                .values(
                    status="sent", sent_at=now, attempts=o.attempts + 1,
                    lease_until=None, lease_owner=None,
                )
            )  # fmt: skip
            self._channel_event(conn, channel, success=now)
            conn.execute(
                sa.update(channels_t).where(channels_t.c.name == channel).values(last_digest=now)
            )

    def fail_digest(self, ids: Sequence[int], channel: str, retry_at: datetime, error: str) -> None:
        """Keep the alerts waiting, untouchable until ``retry_at``."""
        o = outbox_t.c
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(outbox_t)
                .where(o.id.in_(list(ids)))
                .values(
                    attempts=o.attempts + 1, lease_until=retry_at, lease_owner=None,
                    last_error=error[:MAX_ERROR],
                )
            )  # fmt: skip
            self._channel_event(conn, channel, error=error)

    def fold_into_digest(self, item_id: int) -> None:
        """Flood control: an alert over the channel's hourly cap waits for the digest."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(outbox_t)
                .where(outbox_t.c.id == item_id)
                .values(status="digest", next_attempt=None, lease_until=None, lease_owner=None)
            )

    def sent_since(self, channel: str, since: datetime) -> int:
        o = outbox_t.c
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).where(
                        o.channel == channel, o.status == "sent", o.sent_at >= since
                    )
                ).scalar_one()
            )


def outlet_links(conn: Connection, story_ids: set[int]) -> dict[int, dict[str, str]]:
    """Per story, each outlet's first copy of it: the "also reported by" links."""
    if not story_ids:
        return {}
    a = articles_t.c
    rows = conn.execute(
        sa.select(a.story_id, a.source, a.url).where(a.story_id.in_(story_ids)).order_by(a.id)
    )
    out: dict[int, dict[str, str]] = {}
    for story_id, source, url in rows:
        out.setdefault(story_id, {}).setdefault(source, url)
    return out


def _due(now: datetime, mine: sa.ColumnElement[bool] | None = None) -> sa.ColumnElement[bool]:
    """Outbox rows a sender may take now: waiting, due, unleased (or leased by ``mine``),
    on an enabled channel. The claim and the sweeper ask the same question."""
    o = outbox_t.c
    disabled = sa.select(channels_t.c.name).where(channels_t.c.disabled.is_(True))
    free = [o.lease_until.is_(None), o.lease_until < now]
    if mine is not None:
        free.append(mine)
    return sa.and_(
        o.status.in_(("pending", "failed")),
        o.next_attempt <= now,
        sa.or_(*free),
        o.channel.not_in(disabled),
    )
