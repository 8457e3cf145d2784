"""One story, one alert: near copies across outlets and across racing processes."""

from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.dedupe import body_fingerprint, signature
from monitor.errors import StoreError
from monitor.pipeline import StoryTracker
from monitor.store import NewAlert, NewArticle, PendingArticle, Store
from tests.storykit import WORDS

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _story(seed: int, n: int = 260) -> str:
    rng = random.Random(seed)
    sentences = []
    while sum(len(s.split()) for s in sentences) < n:
        sentences.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))) + ".")
    return " ".join(sentences)


def _copy(text: str, seed: int) -> str:
    """A wire copy: another outlet's intro line and two edited sentences."""
    rng = random.Random(seed)
    sentences = text.split(". ")
    for i in rng.sample(range(len(sentences)), 2):
        sentences[i] = " ".join(rng.choice(WORDS) for _ in range(10))
    return f"(Outlet {seed}) " + ". ".join(sentences)


BASES = {name: _story(seed) for name, seed in (("budget", 1), ("storm", 2), ("trial", 3))}
ARTICLES = [
    (f"{name}-{outlet}", body if outlet == 0 else _copy(body, outlet * 10 + len(name)))
    for name, body in BASES.items()
    for outlet in range(4)
]


def _record(key: str, body: str, now: datetime) -> NewArticle:
    url = f"https://outlet.example/{key}"
    sig = signature(body)
    return NewArticle(
        url_key=hashlib.sha256(url.encode()).hexdigest(), url=url, canonical_url=url,
        source=key.split("-")[1], title=key, body=body, first_seen=now,
        fingerprint=body_fingerprint(body), signature=sig.to_bytes(),
    )  # fmt: skip


def _insert_all(url: str, order_seed: int) -> None:
    store = Store(url)
    tracker = StoryTracker()
    articles = list(ARTICLES)
    random.Random(order_seed).shuffle(articles)
    for key, body in articles:
        record = _record(key, body, T0)
        alerts = [NewAlert("watch", "mail", {"alert": "watch"})]
        store.insert_article(record, alerts, near=tracker.finder(signature(body), T0))
    store.close()


@pytest.fixture
def migrated(db_url: str) -> Iterator[str]:
    store = Store(db_url)
    store.migrate()
    store.close()
    yield db_url


def _counts(url: str) -> tuple[int, int, int, dict[str, set[int]]]:
    store = Store(url)
    with store.engine.connect() as conn:
        n_articles = conn.execute(sa.text("select count(*) from articles")).scalar_one()
        n_stories = conn.execute(
            sa.text("select count(distinct story_id) from articles")
        ).scalar_one()
        n_alerts = conn.execute(sa.text("select count(*) from outbox")).scalar_one()
        rows = conn.execute(sa.text("select title, story_id from articles")).all()
    store.close()
    groups: dict[str, set[int]] = {}
    for title, story_id in rows:
        groups.setdefault(title.split("-")[0], set()).add(story_id)
    return n_articles, n_stories, n_alerts, groups


def test_copies_join_one_story_and_alert_once(migrated: str) -> None:
    _insert_all(migrated, order_seed=0)
    n_articles, n_stories, n_alerts, groups = _counts(migrated)
    assert n_articles == 12 and n_stories == 3 and n_alerts == 3
    assert all(len(ids) == 1 for ids in groups.values())


def test_racing_processes_make_one_story_and_one_alert(migrated: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_insert_all, args=(migrated, seed)) for seed in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    n_articles, n_stories, n_alerts, groups = _counts(migrated)
    assert n_articles == 12 and n_stories == 3 and n_alerts == 3, groups


def test_old_stories_fall_out_of_the_window(migrated: str) -> None:
    store = Store(migrated)
    tracker = StoryTracker(window=timedelta(days=7))
    body = BASES["budget"]
    first = store.insert_article(
        _record("budget-0", body, T0), [], near=tracker.finder(signature(body), T0)
    )
    copy = _copy(body, 99)
    later = T0 + timedelta(days=8)
    second = store.insert_article(
        _record("budget-9", copy, later), [], near=tracker.finder(signature(copy), later)
    )
    store.close()
    # Eight days on, a copy starts a new story: the window bounds what is remembered.
    assert first and second and first.story_id != second.story_id


def test_a_failed_batch_leaves_no_phantom_story_in_the_tracker(tmp_path: Path) -> None:
    # SQLite only: the in-process tracker serves SQLite (PostgreSQL commits each article
    # and finds stories in the database), so there is no batch to roll back there.
    store = Store(f"sqlite:///{tmp_path / 'batch.db'}")
    store.migrate()
    tracker = StoryTracker()
    (key_a, body_a), (key_b, body_b) = ARTICLES[0], ARTICLES[1]  # a story and its copy
    first = PendingArticle(_record(key_a, body_a, T0), [], tracker.finder(signature(body_a), T0))
    copy = PendingArticle(_record(key_b, body_b, T0), [], tracker.finder(signature(body_b), T0))
    unkeyed = dataclasses.replace(_record("x-9", body_a, T0), url_key=None)  # type: ignore[arg-type]
    broken = PendingArticle(unkeyed, [])
    with pytest.raises(StoreError):
        store.insert_articles([first, copy, broken], rolled_back=tracker.forget)
    assert len(tracker) == 0  # the copy saw its story, which the rollback undid
    # Another story now takes the lost one's id: the copy must not join it.
    other_key, other_body = ARTICLES[4]
    other = _record(other_key, other_body, T0)
    store.insert_article(other, [], near=tracker.finder(signature(other_body), T0))
    joined = store.insert_article(
        _record(key_b, body_b, T0), [], near=tracker.finder(signature(body_b), T0)
    )
    assert joined is not None
    with store.engine.connect() as conn:
        stories = conn.execute(sa.text("SELECT count(*) FROM stories")).scalar_one()
    assert stories == 2
    store.close()
