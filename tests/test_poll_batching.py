"""Polls' bookkeeping is written in groups (the PollLedger), on SQLite and PostgreSQL.

What a user notices: the validators a poll got are the ones the next poll sends, the
schedule moves on, a stopping daemon leaves no source leased, and a cycle of 304s (or
an outage failing every source) costs a few write transactions, not one per source,
while each failing source still gets its health notice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.config import parse_config
from monitor.pipeline._ledger import PollLedger
from monitor.scheduler import Daemon
from monitor.store import GoodPoll, SourceSpec, Store
from monitor.store._base import outbox_t, sources_t
from tests.faultserver import Conditional, FaultServer, Reply

SOURCES = 30


@pytest.fixture
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        for i in range(SOURCES):
            server.route(f"/feed/{i}.xml", Conditional(b"<rss><channel/></rss>", etag=f'"e{i}"'))
        yield server


def _daemon(tmp_path: Path, db_url: str, site: FaultServer, extra: str = "") -> Daemon:
    sources = "\n".join(
        f'  - {{name: s{i}, url: "{site.url(f"/feed/{i}.xml")}", interval: 30s}}'
        for i in range(SOURCES)
    )
    text = (
        f"database: {db_url}\nallow_private_networks: true\nmax_concurrency: 64\n"
        f"fetch: {{min_delay: 0s, per_host_concurrency: 2}}\nsources:\n{sources}\n{extra}"
    )
    path = tmp_path / "sources.yaml"
    path.write_text(text)
    return Daemon(path, parse_config(text, str(path), env={}), grace=5)


class _Commits:
    """Counts committed transactions on every engine of this process."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, conn: Any) -> None:
        self.count += 1

    def __enter__(self) -> _Commits:
        sa.event.listen(sa.engine.Engine, "commit", self)
        return self

    def __exit__(self, *exc: object) -> None:
        sa.event.remove(sa.engine.Engine, "commit", self)


def _rows(db_url: str) -> list[Any]:
    store = Store(db_url)
    try:
        with store.engine.connect() as conn:
            c = sources_t.c
            query = sa.select(c.name, c.etag, c.lease_owner, c.polls, c.last_poll, c.next_check)
            return list(conn.execute(query.order_by(c.name)))
    finally:
        store.close()


async def test_a_cycle_of_304s_is_recorded_in_a_few_transactions(
    tmp_path: Path, db_url: str, site: FaultServer
) -> None:
    daemon = _daemon(tmp_path, db_url, site)
    await daemon.run_once()
    first = {r.name: r for r in _rows(db_url)}
    assert {r.etag for r in first.values()} == {f'"e{i}"' for i in range(SOURCES)}
    with _Commits() as commits:
        results = await daemon.run_once()
    assert all(r.ok for r in results) and len(results) == SOURCES
    # The second poll of each feed sent the validator the first one stored.
    for i in range(SOURCES):
        sent = [r.headers.get("if-none-match") for r in site.requests_to(f"/feed/{i}.xml")]
        assert sent == [None, f'"e{i}"']
    rows = _rows(db_url)
    assert all(r.polls == 2 and r.lease_owner is None for r in rows)
    assert all(r.etag == first[r.name].etag for r in rows)  # a 304 keeps its validators
    assert all(r.last_poll > first[r.name].last_poll for r in rows)
    # One transaction per poll would be more than SOURCES on its own; the rest of
    # run_once (sync, claim, heartbeat, delivery) takes a handful.
    assert commits.count < SOURCES // 2


def _health(db_url: str) -> tuple[list[Any], int]:
    store = Store(db_url)
    try:
        with store.engine.connect() as conn:
            c = sources_t.c
            rows = conn.execute(sa.select(c.error_count, c.last_error_kind, c.lease_owner,
                                          c.failing_since, c.health_notified)).all()  # fmt: skip
            notices = conn.execute(
                sa.select(sa.func.count()).where(outbox_t.c.rule == "source-health")
            ).scalar()
    finally:
        store.close()
    return rows, int(notices or 0)


async def test_an_outage_is_recorded_in_a_few_transactions_and_each_source_notified(
    tmp_path: Path, db_url: str, site: FaultServer
) -> None:
    for i in range(SOURCES):
        site.route(f"/feed/{i}.xml", Reply(b"down", status=503))
    channel = "channels: {ops: {type: log}}\n"
    daemon = _daemon(tmp_path, db_url, site, channel + "health: {notify: [ops], after: 1h}\n")
    with _Commits() as commits:
        results = await daemon.run_once()
    assert len(results) == SOURCES and not any(r.ok for r in results)
    assert commits.count < SOURCES // 2
    rows, notices = _health(db_url)
    assert len(rows) == SOURCES
    assert all(r.error_count == 1 and r.last_error_kind == "http_status" for r in rows)
    assert all(r.lease_owner is None and r.failing_since is not None for r in rows)
    assert notices == 0 and not any(r.health_notified for r in rows)  # not an hour yet

    # The streaks read back from the grouped write decide the notices: with no delay
    # asked for, every source still failing gets its own "failing" notice.
    daemon = _daemon(tmp_path, db_url, site, channel + "health: {notify: [ops], after: 0s}\n")
    await daemon.run_once()
    rows, notices = _health(db_url)
    assert all(r.error_count == 2 and r.health_notified for r in rows) and notices == SOURCES


async def test_a_stopping_daemon_writes_what_its_ledger_still_holds(
    tmp_path: Path, db_url: str, site: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing is written by size or time: only the flush at shutdown can record them.
    monkeypatch.setattr("monitor.pipeline._ledger.MAX_ROWS", 10**6)
    monkeypatch.setattr("monitor.pipeline._ledger.MAX_DELAY", 3600.0)
    daemon = _daemon(tmp_path, db_url, site)
    started = datetime.now(UTC)
    runner = asyncio.create_task(daemon.run())
    try:
        for _ in range(400):
            if site.hits() >= SOURCES:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # the last answers are recorded into the ledger
        assert all(r.polls == 0 for r in _rows(db_url)), "written before the stop"
    finally:
        daemon.stop()
        await asyncio.wait_for(runner, 30)
    rows = _rows(db_url)
    assert [r.polls for r in rows] == [1] * SOURCES
    assert all(r.lease_owner is None and r.etag for r in rows)
    # The next check moved on to the source's interval.
    assert all(_aware(r.next_check) > started + timedelta(seconds=20) for r in rows)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def test_rows_lost_with_the_process_only_mean_the_source_is_polled_again(
    db_url: str,
) -> None:
    store = Store(db_url)
    store.migrate()
    try:
        now = datetime.now(UTC)
        store.sync_sources([SourceSpec("a", "https://news.example.org/a.xml", "feed", 600)], now)
        (claimed,) = store.claim_due(now, "me", timedelta(minutes=5), 10)
        ledger = PollLedger(store.release_successes, max_rows=100, max_delay=3600)
        ledger.add(GoodPoll(claimed.id, now, now + timedelta(minutes=10), '"new"', None))
        # The process dies here (SIGKILL): the row is never written. Until the lease
        # runs out nobody polls the source; then it is due again, as it was.
        assert store.claim_due(now + timedelta(minutes=4), "other", timedelta(minutes=5), 10) == []
        (again,) = store.claim_due(now + timedelta(minutes=6), "other", timedelta(minutes=5), 10)
        assert again.id == claimed.id and again.etag == claimed.etag
    finally:
        store.close()


async def test_the_ledger_writes_by_size_by_time_and_on_close() -> None:
    batches: list[int] = []

    def write(rows: list[GoodPoll]) -> int:
        batches.append(len(rows))
        return len(rows)

    now = datetime.now(UTC)
    ledger = PollLedger(write, max_rows=10, max_delay=0.1)
    for i in range(25):
        ledger.add(GoodPoll(i, now, now, None, None))
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    assert batches == [10, 10]  # full buffers went at once
    await asyncio.sleep(0.2)
    assert batches == [10, 10, 5]  # the rest after max_delay
    ledger.add(GoodPoll(99, now, now, None, None))
    await ledger.aclose()
    assert batches == [10, 10, 5, 1] and ledger.written == 26 and ledger.pending == 0
