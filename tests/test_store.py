"""The store on SQLite and PostgreSQL: migrations, atomic claims, insert-only-new, outbox."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.store import NewAlert, NewArticle, SourceSpec, Store

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(db_url: str) -> Store:
    s = Store(db_url)
    s.migrate()
    yield s  # type: ignore[misc]
    s.close()


def _article(key: str, body: str = "body text", source: str = "s1") -> NewArticle:
    url = f"https://example.org/{key}"
    fingerprint = hashlib.sha256(body.encode()).hexdigest()
    return NewArticle(
        url_key=key, url=url, canonical_url=url, source=source, title=f"title {key}",
        body=body, first_seen=T0, fingerprint=fingerprint,
    )  # fmt: skip


def test_migrate_is_idempotent_and_alembic_check_is_clean(db_url: str) -> None:
    s = Store(db_url)
    s.migrate()
    s.migrate()
    s.close()
    env = {**os.environ, "MONITOR_DATABASE_URL": db_url}
    for args in (["upgrade", "head"], ["check"]):
        out = subprocess.run(
            [sys.executable, "-m", "alembic", *args], cwd=ROOT, env=env,
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
    assert "No new upgrade operations detected" in out.stdout + out.stderr


def test_sync_claim_and_release(store: Store) -> None:
    specs = [SourceSpec(f"s{i}", f"https://example.org/{i}", "feed", 600) for i in range(5)]
    store.sync_sources(specs, T0)
    first = store.claim_due(T0, "a", timedelta(minutes=5), 3)
    assert len(first) == 3
    # Leased sources are not handed out again while the lease holds.
    second = store.claim_due(T0, "b", timedelta(minutes=5), 10)
    assert {c.name for c in first}.isdisjoint({c.name for c in second}) and len(second) == 2
    assert store.claim_due(T0, "c", timedelta(minutes=5), 10) == []
    store.release_success(
        first[0].id, T0, T0 + timedelta(minutes=10), etag='"v1"', last_modified=None, new_articles=2
    )
    store.release_failure(first[1].id, T0, T0 + timedelta(minutes=20), "timeout", "timed out")
    # After the lease expires the others come back; the released ones wait for next_check.
    later = store.claim_due(T0 + timedelta(minutes=6), "d", timedelta(minutes=5), 10)
    assert {c.name for c in later} == {c.name for c in first[2:]} | {c.name for c in second}
    again = store.claim_due(T0 + timedelta(minutes=11), "e", timedelta(minutes=5), 10)
    assert [c.name for c in again] == [first[0].name] and again[0].etag == '"v1"'


def test_removed_sources_are_disabled(store: Store) -> None:
    store.sync_sources(
        [
            SourceSpec("a", "https://e.org/a", "feed", 60),
            SourceSpec("b", "https://e.org/b", "feed", 60),
        ],
        T0,
    )
    store.sync_sources([SourceSpec("a", "https://e.org/a", "feed", 60)], T0)
    assert [c.name for c in store.claim_due(T0, "x", timedelta(minutes=1), 10)] == ["a"]


def test_concurrent_claimers_never_share_a_source(db_url: str) -> None:
    setup = Store(db_url)
    setup.migrate()
    setup.sync_sources(
        [SourceSpec(f"s{i}", f"https://e.org/{i}", "feed", 60) for i in range(40)], T0
    )
    setup.close()
    got: list[list[str]] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        s = Store(db_url)
        mine: list[str] = []
        for _ in range(10):
            mine += [c.name for c in s.claim_due(T0, f"w{n}", timedelta(minutes=5), 2)]
        s.close()
        with lock:
            got.append(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [name for names in got for name in names]
    assert len(flat) == len(set(flat)) == 40


def test_insert_returns_only_new_rows_and_alerts_once(store: Store) -> None:
    alerts = [NewAlert("r1", "mail", {"alert": "r1"}), NewAlert("r1", "hook", {"alert": "r1"})]
    first = store.insert_article(_article("k1"), alerts)
    assert first is not None and len(first.alert_ids) == 2
    assert store.insert_article(_article("k1"), alerts) is None
    assert set(store.known_keys(["k1", "k2"])) == {"k1"}
    # An exact copy under another URL joins the story and alerts nobody again.
    copy = store.insert_article(_article("k2"), alerts)
    assert copy is not None and copy.story_id == first.story_id and copy.alert_ids == ()
    other = store.insert_article(_article("k3", body="another story"), alerts)
    assert other is not None and other.story_id != first.story_id and len(other.alert_ids) == 2


def test_outbox_claim_send_fail_and_dead(store: Store) -> None:
    ins = store.insert_article(
        _article("k1"),
        [NewAlert("r", "mail", {"alert": "r"}), NewAlert("r", "hook", {"alert": "r"})],
    )
    assert ins is not None
    store.insert_article(_article("k2", body="other", source="s2"), [])
    items = store.claim_outbox(T0, timedelta(minutes=1), channels=["mail", "hook"])
    assert {i.channel for i in items} == {"mail", "hook"} and items[0].payload == {"alert": "r"}
    assert items[0].outlets == ("s1",)
    # Leased: a second worker gets nothing until the lease runs out.
    assert store.claim_outbox(T0, timedelta(minutes=1), channels=["mail", "hook"]) == []
    mail = next(i for i in items if i.channel == "mail")
    hook = next(i for i in items if i.channel == "hook")
    store.mark_sent(mail.id, T0)
    store.mark_failed(hook.id, T0, "502 from receiver", T0 + timedelta(minutes=5))
    assert store.next_outbox_attempt(["mail", "hook"]) == T0 + timedelta(minutes=5)
    retry = store.claim_outbox(T0 + timedelta(minutes=5), timedelta(minutes=1), channels=["hook"])
    assert [i.alert_id for i in retry] == [hook.alert_id] and retry[0].attempts == 1
    store.mark_failed(hook.id, T0, "still down", None)
    assert store.next_outbox_attempt(["mail", "hook"]) is None


def test_disabled_channel_is_not_claimed(store: Store) -> None:
    store.insert_article(_article("k1"), [NewAlert("r", "hook", {})])
    store.disable_channel("hook", "410 Gone")
    assert store.claim_outbox(T0, timedelta(minutes=1), channels=["hook"]) == []
    store.enable_channels(["hook"])
    assert len(store.claim_outbox(T0, timedelta(minutes=1), channels=["hook"])) == 1


def test_leases_of_dead_owners_are_reclaimed(store: Store) -> None:
    lease = timedelta(minutes=5)
    store.sync_sources(
        [
            SourceSpec("a", "https://e.org/a", "feed", 60),
            SourceSpec("b", "https://e.org/b", "feed", 60),
        ],
        T0,
    )
    dead_claim = store.claim_due(T0, "host:1:dead", lease, 1)
    store.claim_due(T0, "host:2:alive", lease, 1)
    store.insert_article(_article("k1"), [NewAlert("r", "hook", {})])
    assert len(store.claim_outbox(T0, lease, channels=["hook"], owner="host:1:dead")) == 1
    assert store.reclaim_dead(lambda owner: owner == "host:1:dead") == 2
    # The dead daemon's source and half-sent alert are free again; the live one's are not.
    assert [c.name for c in store.claim_due(T0, "new", lease, 10)] == [dead_claim[0].name]
    assert len(store.claim_outbox(T0, lease, channels=["hook"], owner="new")) == 1


def test_retention_prunes_bodies_but_keeps_dedupe_keys(store: Store) -> None:
    alert = NewAlert("r", "mail", {"alert": "r"})
    old = store.insert_article(_article("old", body="an old body"), [alert])
    assert old is not None
    item = store.claim_outbox(T0, timedelta(minutes=1), channels=["mail"])[0]
    store.mark_sent(item.id, T0)
    counts = store.prune(T0 + timedelta(days=1))
    assert counts == {"bodies": 1, "alerts": 1, "stories": 0}
    assert [a.body for a in store.iter_articles()] == [""]
    # Still known: the next poll skips it, and a copy still joins its story silently.
    assert set(store.known_keys(["old"])) == {"old"}
    copy = store.insert_article(_article("copy", body="an old body"), [alert])
    assert copy is not None and copy.story_id == old.story_id and copy.alert_ids == ()


def test_changed_url_forgets_validators_and_is_due_at_once(store: Store) -> None:
    store.sync_sources([SourceSpec("a", "https://e.org/old", "feed", 60)], T0)
    (claimed,) = store.claim_due(T0, "x", timedelta(minutes=1), 10)
    later = T0 + timedelta(hours=1)
    store.release_success(claimed.id, T0, later, etag='"v1"', last_modified=None, new_articles=0)
    store.sync_sources([SourceSpec("a", "https://e.org/old", "feed", 60)], T0)
    assert store.claim_due(T0, "x", timedelta(minutes=1), 10) == []  # unchanged: still waits
    store.sync_sources([SourceSpec("a", "https://e.org/new", "feed", 60)], T0)
    (again,) = store.claim_due(T0, "x", timedelta(minutes=1), 10)
    assert again.url == "https://e.org/new" and again.etag is None
