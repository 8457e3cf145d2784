"""Sources: sync with the config, lease due ones atomically, record each poll."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa

from monitor.store._base import (
    MAX_ERROR,
    StoreBase,
    aware_utc,
    bulk_upsert,
    outbox_t,
    sources_t,
)
from monitor.store._models import (
    ClaimedSource,
    Health,
    NewAlert,
    SourceSpec,
)

# Rows per multi-row statement: well under SQLite's 32,766 bound variables.
_CHUNK = 1000
_SPEC_COLUMNS = ("url", "kind", "interval_seconds", "enabled", "host_key")


@dataclass(frozen=True, slots=True)
class GoodPoll:
    """One good poll's bookkeeping, as ``release_successes`` writes it."""

    source_id: int
    now: datetime
    next_check: datetime
    etag: str | None
    last_modified: str | None
    new_articles: int = 0


@dataclass(frozen=True, slots=True)
class FailedPoll:
    """One failed poll's bookkeeping, as ``release_failures`` writes it."""

    source_id: int
    now: datetime
    next_check: datetime
    kind: str
    message: str


def host_key(url: str) -> int:
    """A stable hash of the URL's host: sources of one host share ``host_key % P``.

    CRC-32, not ``hash()``: every process and host must compute the same partition.
    """
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        host = ""
    return zlib.crc32(host.encode("utf-8", "replace"))


class SourceOps(StoreBase):
    """Sources as the config lists them, leased one poller at a time."""

    def sync_sources(self, specs: Sequence[SourceSpec], now: datetime) -> None:
        """Make the sources table match the config; sources no longer listed are disabled.

        Only new and changed sources are written, in multi-row statements (100k new
        sources are a hundred statements, not 100k); a restart with nothing changed
        costs one read.
        """
        c = sources_t.c
        with self.engine.begin() as conn:
            stored = {
                r.name: tuple(r)[1:]
                for r in conn.execute(
                    sa.select(c.name, c.url, c.kind, c.interval_seconds, c.enabled, c.host_key)
                )
            }
            new, moved, edited = [], [], []
            for spec in {s.name: s for s in specs}.values():
                values = {
                    "name": spec.name,
                    "url": spec.url,
                    "kind": spec.kind,
                    "interval_seconds": spec.interval_seconds,
                    "enabled": spec.enabled,
                    "host_key": host_key(spec.url),
                }
                row = stored.get(spec.name)
                if row is None:
                    new.append({**values, "next_check": now})
                elif row[0] != spec.url:
                    moved.append(values)
                elif row != tuple(values[k] for k in _SPEC_COLUMNS):
                    edited.append(values)
            bulk_upsert(conn, sources_t, new, "name", _SPEC_COLUMNS, sqlite_insert=self._insert)
            # A new URL is a new feed: forget validators and failures of the old one.
            reset = {"etag": None, "last_modified": None, "error_count": 0,
                     "failing_since": None, "next_check": now}  # fmt: skip
            for rows, extra in ((moved, reset), (edited, {})):
                if rows:
                    conn.execute(
                        sa.update(sources_t)
                        .where(c.name == sa.bindparam("b_name"))
                        .values({**{k: sa.bindparam(f"b_{k}") for k in _SPEC_COLUMNS}, **extra}),
                        [{f"b_{k}": v for k, v in row.items()} for row in rows],
                    )
            names = {s.name for s in specs}
            gone = [name for name, r in stored.items() if r[3] and name not in names]
            for start in range(0, len(gone), _CHUNK):
                conn.execute(
                    sa.update(sources_t)
                    .where(c.name.in_(gone[start : start + _CHUNK]))
                    .values(enabled=False)
                )

    def claim_due(
        self,
        now: datetime,
        owner: str,
        lease: timedelta,
        limit: int,
        *,
        due_or_not: bool = False,
        partition: tuple[int, int] | None = None,
        resume: bool = False,
    ) -> list[ClaimedSource]:
        """Lease up to ``limit`` due sources in one statement.

        On PostgreSQL the inner SELECT takes row locks with SKIP LOCKED, so two daemons
        never lease the same source; SQLite serialises writers with BEGIN IMMEDIATE.
        ``partition`` (p, P) keeps the sources whose ``host_key % P == p``. With
        ``resume``, leases already held by ``owner`` are taken again at once: a worker's
        job retried after its worker died resumes its own sources without waiting.
        """
        until = now + lease
        # `run --once` polls every source whatever its schedule (due_or_not).
        due_now = sa.or_(sources_t.c.next_check.is_(None), sources_t.c.next_check <= now)
        c = sources_t.c
        free = [c.lease_until.is_(None), c.lease_until < now]
        if resume:
            free.append(c.lease_owner == owner)
        due = (
            sa.select(sources_t.c.id)
            .where(
                sources_t.c.enabled.is_(True),
                sa.true() if due_or_not else due_now,
                sa.or_(*free),
                sa.true() if partition is None else _in_partition(*partition),
            )
            .order_by(sources_t.c.next_check.asc().nulls_first())
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        stmt = (
            sa.update(sources_t)
            .where(c.id.in_(due))
            .values(lease_until=until, lease_owner=owner)
            .returning(
                c.id, c.name, c.url, c.kind, c.interval_seconds, c.etag,
                c.last_modified, c.error_count, c.lease_until,
            )
        )  # fmt: skip
        with self.engine.begin() as conn:
            rows = conn.execute(stmt).all()
        return [ClaimedSource(*row) for row in rows]

    def due_partitions(self, now: datetime, partitions: int) -> list[int]:
        """The host partitions (``host_key % partitions``) that have due, unleased sources."""
        c = sources_t.c
        part = (sa.func.coalesce(c.host_key, 0) % partitions).label("part")
        stmt = (
            sa.select(part)
            .where(
                c.enabled.is_(True),
                sa.or_(c.next_check.is_(None), c.next_check <= now),
                sa.or_(c.lease_until.is_(None), c.lease_until < now),
            )
            .distinct()
        )
        with self.engine.connect() as conn:
            return sorted(int(p) for p in conn.execute(stmt).scalars())

    def release_success(
        self,
        source_id: int,
        now: datetime,
        next_check: datetime,
        *,
        etag: str | None,
        last_modified: str | None,
        new_articles: int,
        malformed: str | None = None,
    ) -> Health:
        """Record a good poll; returns the failure streak it ended (if any).

        ``malformed``: the feed was recovered from broken XML; kept as the last error
        (``ok, malformed: …``, kind ``malformed``) until a poll reads it clean.
        """
        c = sources_t.c
        if malformed is not None:
            noted: dict[str, object] = {
                "last_error": f"ok, malformed: {malformed}"[:500],
                "last_error_kind": "malformed",
            }
        else:
            clean = c.last_error_kind == "malformed"
            noted = {
                "last_error": sa.case((clean, None), else_=c.last_error),
                "last_error_kind": sa.case((clean, None), else_=c.last_error_kind),
            }
        with self.engine.begin() as conn:
            before = conn.execute(
                sa.select(c.failing_since, c.health_notified).where(c.id == source_id)
            ).one_or_none()
            conn.execute(
                sa.update(sources_t)
                .where(c.id == source_id)
                .values(
                    lease_until=None,
                    lease_owner=None,
                    next_check=next_check,
                    etag=etag,
                    last_modified=last_modified,
                    error_count=0,
                    failing_since=None,
                    health_notified=False,
                    last_poll=now,
                    last_success=now,
                    polls=c.polls + 1,
                    articles_seen=c.articles_seen + new_articles,
                    **noted,
                )
            )
        if before is None:
            return Health(None, False)
        return Health(before.failing_since, bool(before.health_notified))

    def release_successes(self, polls: Sequence[GoodPoll]) -> int:
        """Record many good polls of sources that had no failure streak, in one
        transaction (one statement run for each row); returns the rows written.

        Only for sources claimed with ``error_count == 0``: there is no streak to end,
        so nothing need be read first (``release_success`` does that for the others).
        A row whose lease was lost meanwhile is still written: the poll did happen.
        """
        if not polls:
            return 0
        c = sources_t.c
        stmt = (
            sa.update(sources_t)
            .where(c.id == sa.bindparam("b_id"))
            .values(
                lease_until=None,
                lease_owner=None,
                next_check=sa.bindparam("b_next"),
                etag=sa.bindparam("b_etag"),
                last_modified=sa.bindparam("b_lm"),
                error_count=0,
                failing_since=None,
                health_notified=False,
                last_poll=sa.bindparam("b_now"),
                last_success=sa.bindparam("b_now"),
                polls=c.polls + 1,
                articles_seen=c.articles_seen + sa.bindparam("b_new"),
                # A clean read ends a "malformed" note (malformed polls never come here).
                last_error=sa.case((c.last_error_kind == "malformed", None), else_=c.last_error),
                last_error_kind=sa.case(
                    (c.last_error_kind == "malformed", None), else_=c.last_error_kind
                ),
            )
        )
        rows = [
            {"b_id": p.source_id, "b_next": p.next_check, "b_etag": p.etag,
             "b_lm": p.last_modified, "b_now": p.now, "b_new": p.new_articles}
            for p in polls
        ]  # fmt: skip
        with self.engine.begin() as conn:
            conn.execute(stmt, rows)
        return len(rows)

    def release_failure(
        self, source_id: int, now: datetime, next_check: datetime, kind: str, message: str
    ) -> Health:
        """Record a failed poll; returns the failure streak it extends."""
        return self.release_failures([FailedPoll(source_id, now, next_check, kind, message)])[0]

    def release_failures(self, polls: Sequence[FailedPoll]) -> list[Health]:
        """Record failed polls in one transaction; each one's failure streak, in order.

        One statement per row, as each must read back the streak it extends (whether a
        health notice is due); the transaction is what costs, and it is one.
        """
        c = sources_t.c
        # Typed as the column is: inside coalesce() it would otherwise reach SQLite
        # as the driver's own rendering of a datetime, not the one the column stores.
        now = sa.bindparam("f_now", type_=c.last_poll.type)
        stmt = (
            sa.update(sources_t)
            .where(c.id == sa.bindparam("f_id"))
            .values(
                lease_until=None,
                lease_owner=None,
                next_check=sa.bindparam("f_next"),
                error_count=c.error_count + 1,
                failing_since=sa.func.coalesce(c.failing_since, now),
                last_error=sa.bindparam("f_error"),
                last_error_kind=sa.bindparam("f_kind"),
                last_poll=now,
                polls=c.polls + 1,
                failures=c.failures + 1,
            )
            .returning(c.failing_since, c.health_notified)
        )
        found: list[Health] = []
        with self.engine.begin() as conn:
            for p in polls:
                values = {"f_id": p.source_id, "f_next": p.next_check, "f_now": p.now,
                          "f_error": p.message[:MAX_ERROR], "f_kind": p.kind}  # fmt: skip
                row = conn.execute(stmt, values).one_or_none()
                found.append(
                    Health(None, False)
                    if row is None
                    else Health(aware_utc(row.failing_since), bool(row.health_notified))
                )
        return found

    def queue_notices(
        self, source_id: int, notified: bool, notices: Sequence[tuple[str, NewAlert]], now: datetime
    ) -> int:
        """Queue notices about a source's health (id, alert) and flag its streak as
        notified or not, in one transaction; a notice already queued is not queued again."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(sources_t)
                .where(sources_t.c.id == source_id)
                .values(health_notified=notified)
            )
            created = 0
            for alert_id, notice in notices:
                stmt = (
                    self._insert(outbox_t)
                    .values(
                        alert_id=alert_id, rule=notice.rule, channel=notice.channel,
                        payload=json.dumps(notice.payload, default=str), status="pending",
                        attempts=0, next_attempt=now, created=now,
                    )
                    .on_conflict_do_nothing()
                    .returning(outbox_t.c.id)
                )  # fmt: skip
                created += conn.execute(stmt).scalar() is not None
        return created

    def release_leases(self, owner: str) -> int:
        """Hand back what a stopping daemon still holds, so another can take it now."""
        freed = 0
        with self.engine.begin() as conn:
            for table in (sources_t, outbox_t):
                result = conn.execute(
                    sa.update(table)
                    .where(table.c.lease_owner == owner)
                    .values(lease_until=None, lease_owner=None)
                )
                freed += int(result.rowcount)
        return freed

    def renew_leases(self, owner: str, source_ids: Sequence[int], until: datetime) -> None:
        """Keep long polls leased: the dispatcher renews what is still in flight."""
        if not source_ids:
            return
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(sources_t)
                .where(sources_t.c.lease_owner == owner, sources_t.c.id.in_(list(source_ids)))
                .values(lease_until=until)
            )

    def reclaim_dead(self, is_dead: Callable[[str], bool]) -> int:
        """Free the leases of owners known to be dead (a daemon killed on this host), so
        its sources and half-sent alerts are taken up at once instead of at lease end."""
        freed = 0
        with self.engine.begin() as conn:
            for table in (sources_t, outbox_t):
                owners = conn.execute(
                    sa.select(table.c.lease_owner)
                    .distinct()
                    .where(table.c.lease_owner.is_not(None))
                ).scalars()
                dead = [o for o in owners if is_dead(o)]
                if dead:
                    result = conn.execute(
                        sa.update(table)
                        .where(table.c.lease_owner.in_(dead))
                        .values(lease_until=None, lease_owner=None)
                    )
                    freed += int(result.rowcount)
        return freed


def _in_partition(index: int, partitions: int) -> sa.ColumnElement[bool]:
    return (sa.func.coalesce(sources_t.c.host_key, 0) % partitions) == index
