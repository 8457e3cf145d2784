"""What `monitor worker` asks of the store, on SQLite and PostgreSQL: host partitions,
leases a retried job takes back, and marks fenced by the claim's token."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from monitor.store import NewAlert, NewArticle, SourceSpec, Store, host_key

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


def _article(key: str) -> NewArticle:
    url = f"https://example.org/{key}"
    return NewArticle(
        url_key=key, url=url, canonical_url=url, source="s", title=key, body=key,
        first_seen=T0, fingerprint=hashlib.sha256(key.encode()).hexdigest(),
    )  # fmt: skip


def test_host_key_is_stable_and_ignores_path_port_and_case() -> None:
    assert host_key("https://Example.org/a") == host_key("http://example.org:8080/b?x=1")
    assert host_key("https://example.org/") != host_key("https://example.net/")
    assert host_key("not a url") == host_key("")  # no host: one partition, no crash


def test_a_partition_claims_only_its_hosts_sources(store: Store) -> None:
    urls = [f"http://127.0.0.{h}:8000/feed{i}" for h in range(1, 9) for i in range(3)]
    store.sync_sources([SourceSpec(f"s{n}", u, "feed", 60) for n, u in enumerate(urls)], T0)
    parts = 4
    due = store.due_partitions(T0, parts)
    expected = sorted({host_key(u) % parts for u in urls})
    assert due == expected
    seen: dict[int, set[str]] = {}
    for p in due:
        claimed = store.claim_due(T0, f"job:{p}", LEASE, 100, partition=(p, parts))
        assert claimed, p
        for c in claimed:
            assert host_key(c.url) % parts == p
            seen.setdefault(p, set()).add(c.url.split("/")[2])
    # Every source claimed once, and no host is split between two partitions.
    hosts = [h for hs in seen.values() for h in hs]
    assert len(hosts) == len(set(hosts)) == 8
    assert store.due_partitions(T0, parts) == []  # all leased now


def test_a_retried_job_takes_its_own_leases_back_at_once(store: Store) -> None:
    store.sync_sources([SourceSpec("a", "https://e.org/a", "feed", 60)], T0)
    (first,) = store.claim_due(T0, "job:7", LEASE, 10)
    # Another job waits for the lease; the same job only when it asks to resume.
    assert store.claim_due(T0, "job:8", LEASE, 10, resume=True) == []
    assert store.claim_due(T0, "job:7", LEASE, 10) == []
    (again,) = store.claim_due(T0, "job:7", LEASE, 10, resume=True)
    assert again.id == first.id


def test_a_sender_that_lost_its_lease_cannot_mark_the_row(store: Store) -> None:
    ins = store.insert_article(_article("k1"), [NewAlert("r", "hook", {"alert": "r"})])
    assert ins is not None
    (old,) = store.claim_outbox(T0, LEASE, channels=["hook"], owner="job:1")
    later = T0 + LEASE + timedelta(seconds=1)  # the first sender stalled past its lease
    (new,) = store.claim_outbox(later, LEASE, channels=["hook"], owner="job:2")
    assert new.id == old.id and new.lease_token != old.lease_token
    # The stale sender's outcome is refused, whatever it is...
    assert store.mark_failed(old.id, later, "timed out", later, token=old.lease_token) is False
    assert store.mark_sent(old.id, later, token=old.lease_token) is False
    assert store.claim_outbox(later, LEASE, channels=["hook"], owner="job:3") == []  # still job:2's
    # ...and the owner's counts.
    assert store.mark_sent(new.id, later, token=new.lease_token) is True
    assert store.sent_since("hook", T0) == 1
    assert store.mark_failed(new.id, later, "late", later, token=new.lease_token) is False
    assert store.channels_due(later + timedelta(days=1)) == []


def test_the_sweeper_sees_channels_with_due_unleased_alerts(store: Store) -> None:
    store.insert_article(
        _article("k1"), [NewAlert("r", "hook", {}), NewAlert("r", "mail", {})]
    )  # fmt: skip
    assert store.channels_due(T0) == ["hook", "mail"]
    store.claim_outbox(T0, LEASE, channels=["hook"], owner="job:1")
    assert store.channels_due(T0) == ["mail"]
    store.disable_channel("mail", "410 Gone")
    assert store.channels_due(T0) == []


def test_migrations_give_postgresql_procrastinates_schema(store: Store) -> None:
    import sqlalchemy as sa

    with store.engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    if store.dialect == "postgresql":
        assert {"procrastinate_jobs", "procrastinate_workers"} <= tables
        store.migrate()  # again: idempotent, the schema is not applied twice
    else:
        assert not any(t.startswith("procrastinate") for t in tables)


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_a_sender_that_lost_its_lease_cannot_undo_the_delivery_of_another(
    store: Store,
) -> None:
    """Sender A stalls past its lease on a slow 503; B takes the alert over and delivers
    it. A's late "failed, retry later" must not reopen the row: a third sender, a day
    later, would deliver it a second time (the version without the fence does)."""
    import asyncio
    import random

    from monitor.alerts import WebhookNotifier, deliver_channel
    from monitor.config import FetchConfig
    from monitor.fetch import Fetcher, FetchSettings
    from tests.faultserver import Exchange, FaultServer
    from tests.workerkit import wait_for

    url = "https://news.example.org/story"
    payload = {
        "alert": "watch", "query": "story", "matched": ["story"],
        "article": {"url": url, "title": "A story", "source": "wire",
                    "published": T0.isoformat(), "language": "en", "snippet": "A story"},
    }  # fmt: skip
    assert store.insert_article(_article("k1"), [NewAlert("watch", "hook", payload)])
    accepted: list[str] = []
    seen: list[int] = []

    def receiver(exchange: Exchange) -> None:
        if not seen:
            seen.append(1)
            if exchange.pause(1.0):  # A's request: slow, then "try later"
                exchange.respond(503, {"Retry-After": "60"}, b"busy")
            return
        accepted.append(exchange.request.headers["webhook-id"])
        exchange.respond(204)

    with FaultServer() as server:
        hook_url = server.route("/hook", receiver)
        async with Fetcher(FetchSettings.from_config(FetchConfig())) as fetcher:
            notifier = WebhookNotifier(
                url=hook_url, secrets=["s3cret"], post=fetcher.post, allow_private=True
            )
            rng = random.Random(1)

            async def sender(at: datetime, owner: str) -> int:
                stats = await deliver_channel(
                    store, notifier, "hook", _Clock(at), rng, owner=owner
                )  # fmt: skip
                return stats.sent

            a = asyncio.create_task(sender(T0, "job:a"))
            assert await asyncio.to_thread(wait_for, lambda: bool(seen), 10)
            assert await sender(T0 + LEASE + timedelta(minutes=1), "job:b") == 1
            assert await a == 0  # A's 503 came after B's delivery
            assert await sender(T0 + timedelta(days=1), "job:c") == 0
    assert len(accepted) == 1
    assert store.channels_due(T0 + timedelta(days=2)) == []


def test_a_group_mark_writes_only_the_rows_its_claim_still_owns(store: Store) -> None:
    """One UPDATE marks a group of sends, still fenced: a row another sender took over
    meanwhile keeps its new owner's lease, and the channel counts only what was marked."""
    import sqlalchemy as sa

    for k in range(3):
        store.insert_article(_article(f"k{k}"), [NewAlert(f"r{k}", "hook", {})])
    old = store.claim_outbox(T0, LEASE, channels=["hook"], owner="job:1", limit=2)
    later = T0 + LEASE + timedelta(seconds=1)  # job:1 stalled past its lease
    taken = store.claim_outbox(later, LEASE, channels=["hook"], owner="job:2", limit=1)
    assert [t.id for t in taken] == [old[0].id]
    token = old[0].lease_token
    assert token is not None and old[1].lease_token == token  # one claim, one token
    assert store.mark_sent_many([o.id for o in old], later, token) == [old[1].id]
    assert store.sent_since("hook", T0) == 1
    assert store.mark_sent_many([old[1].id], later, token) == []  # marked once only
    assert store.mark_sent(taken[0].id, later, token=taken[0].lease_token) is True
    assert store.sent_since("hook", T0) == 2
    with store.engine.connect() as conn:
        delivered = conn.execute(sa.text("SELECT delivered FROM channels WHERE name = 'hook'"))
        assert delivered.scalar() == 2
    assert store.mark_sent_many([], later, "x") == []


async def test_a_busy_channel_marks_its_sends_in_groups_each_alert_once(store: Store) -> None:
    """40 alerts, 8 sends at once to a receiver answering in 20 ms: every alert arrives
    once and is marked sent, with far fewer mark statements than alerts (one fenced
    UPDATE per group of finished sends; the version marking each send issues 40)."""
    import random
    from collections import Counter

    import sqlalchemy as sa

    from monitor.alerts import WebhookNotifier, deliver_channel
    from monitor.config import FetchConfig
    from monitor.fetch import Fetcher, FetchSettings
    from tests.faultserver import Exchange, FaultServer

    payload = {
        "alert": "watch", "query": "story", "matched": ["story"],
        "article": {"url": "https://news.example.org/s", "title": "A story", "source": "wire",
                    "published": T0.isoformat(), "language": "en", "snippet": "A story"},
    }  # fmt: skip
    for k in range(40):
        store.insert_article(_article(f"k{k}"), [NewAlert(f"watch{k}", "hook", payload)])
    accepted: Counter[str] = Counter()

    def receiver(exchange: Exchange) -> None:
        if exchange.pause(0.02):
            accepted[exchange.request.headers["webhook-id"]] += 1
            exchange.respond(204)

    marks: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().startswith("UPDATE outbox") and "sent_at" in statement:
            marks.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        with FaultServer() as server:
            hook_url = server.route("/hook", receiver)
            async with Fetcher(FetchSettings.from_config(FetchConfig())) as fetcher:
                notifier = WebhookNotifier(
                    url=hook_url, secrets=["s3cret"], post=fetcher.post, allow_private=True
                )
                stats = await deliver_channel(
                    store, notifier, "hook", _Clock(T0), random.Random(1), owner="job:1",
                    concurrency=8, limit=100,
                )  # fmt: skip
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)
    assert stats.sent == 40 and len(accepted) == 40 and set(accepted.values()) == {1}
    assert store.sent_since("hook", T0) == 40
    assert store.channels_due(T0 + timedelta(days=1)) == []
    assert 1 <= len(marks) <= 20, len(marks)


async def test_a_stopped_sender_records_what_was_accepted_before_handing_back(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three alerts accepted, two held by the receiver, then the job is stopped while
    the three wait for their group's mark: the three are recorded as sent (the next
    sender would repeat them otherwise), the two stay due."""
    import asyncio
    import random

    import monitor.alerts._outbox as outbox
    from monitor.alerts import WebhookNotifier, deliver_channel
    from monitor.config import FetchConfig
    from monitor.fetch import Fetcher, FetchSettings
    from tests.faultserver import Exchange, FaultServer
    from tests.workerkit import wait_for

    monkeypatch.setattr(outbox, "MARK_LINGER", 30.0)  # the stop surely comes during it
    payload = {
        "alert": "watch", "query": "story", "matched": ["story"],
        "article": {"url": "https://news.example.org/s", "title": "A story", "source": "wire",
                    "published": T0.isoformat(), "language": "en", "snippet": "A story"},
    }  # fmt: skip
    for k in range(5):
        store.insert_article(_article(f"k{k}"), [NewAlert(f"watch{k}", "hook", payload)])
    accepted: list[str] = []

    def receiver(exchange: Exchange) -> None:
        if len(accepted) >= 3:
            exchange.pause(30.0)  # held until the sender goes away
            return
        accepted.append(exchange.request.headers["webhook-id"])
        exchange.respond(204)

    with FaultServer() as server:
        hook_url = server.route("/hook", receiver)
        async with Fetcher(FetchSettings.from_config(FetchConfig())) as fetcher:
            notifier = WebhookNotifier(
                url=hook_url, secrets=["s3cret"], post=fetcher.post, allow_private=True
            )
            job = asyncio.create_task(
                deliver_channel(
                    store, notifier, "hook", _Clock(T0), random.Random(1), owner="job:1",
                    concurrency=5,
                )
            )  # fmt: skip
            assert await asyncio.to_thread(wait_for, lambda: len(accepted) == 3, 10)
            await asyncio.sleep(0.3)  # the answers reach the sender
            job.cancel()
            with pytest.raises(asyncio.CancelledError):
                await job
    store.release_leases("job:1")
    assert store.sent_since("hook", T0) == 3
    again = store.claim_outbox(T0, LEASE, channels=["hook"], owner="job:2")
    assert len(again) == 2
