"""Daemon heartbeats: each running daemon says it is alive, ``monitor status`` reads them.

A daemon writes its row on start and every ``HEARTBEAT_EVERY`` while it runs, and marks
it stopped on a clean exit. One that stopped writing without that (killed, its host
gone, its database unreachable) shows as gone once its last beat is ``ALIVE_WITHIN`` old.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from monitor.store._base import aware_utc
from monitor.store._store import Store, store_errors
from monitor.store._tables import metadata

heartbeats_t: sa.Table = metadata.tables["heartbeats"]

HEARTBEAT_EVERY = timedelta(seconds=10)
# A few missed beats (a slow database, a busy loop) do not make a daemon look dead.
ALIVE_WITHIN = timedelta(seconds=60)
# Rows of daemons stopped or gone this long ago are dropped: status shows recent ones.
FORGET_AFTER = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class DaemonStatus:
    owner: str
    host: str
    pid: int
    started: datetime
    last_seen: datetime
    stopped: datetime | None
    state: str  # "alive", "stopped" (a clean exit) or "gone" (no beat for ALIVE_WITHIN)


@store_errors
def beat(store: Store, owner: str, host: str, pid: int, started: datetime, now: datetime) -> None:
    """This daemon is alive at ``now`` (its row is created on the first beat)."""
    h = heartbeats_t.c
    values = {"owner": owner, "host": host, "pid": pid, "started": started, "last_seen": now}
    stmt = store._insert(heartbeats_t).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["owner"], set_={"last_seen": now, "stopped": None}
    )
    with store.engine.begin() as conn:
        conn.execute(stmt)
        conn.execute(sa.delete(heartbeats_t).where(h.last_seen < now - FORGET_AFTER))


@store_errors
def sign_off(store: Store, owner: str, now: datetime) -> None:
    """A clean stop: the daemon is not running any more, and says so."""
    h = heartbeats_t.c
    with store.engine.begin() as conn:
        conn.execute(
            sa.update(heartbeats_t).where(h.owner == owner).values(stopped=now, last_seen=now)
        )


@store_errors
def daemon_statuses(store: Store, now: datetime) -> list[DaemonStatus]:
    """Every daemon seen lately, alive ones first, then by last beat."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(heartbeats_t)).all()
    out = []
    for r in rows:
        last_seen = aware_utc(r.last_seen) or now
        stopped = aware_utc(r.stopped)
        state = "stopped" if stopped else "alive" if now - last_seen <= ALIVE_WITHIN else "gone"
        out.append(
            DaemonStatus(
                r.owner, r.host, r.pid, aware_utc(r.started) or last_seen, last_seen, stopped, state
            )
        )
    return sorted(out, key=lambda d: (d.state != "alive", -d.last_seen.timestamp()))
