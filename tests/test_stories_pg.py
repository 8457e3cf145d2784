"""The near-copy index in PostgreSQL: the same stories as the in-memory index, one
story per group of copies however workers race, and a worker joining a big window
inserts at once."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import sqlalchemy as sa

from bench.stories_pg import (
    Piece,
    copy_text,
    join_first_insert,
    record,
    story_race,
    story_text,
)
from monitor.dedupe import StoryIndex, body_fingerprint, signature
from monitor.pipeline import BandStories, StoryTracker, stories_for
from monitor.store import NewAlert, Store, open_store

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def pg(postgres_url: str) -> Iterator[str]:
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    open_store(postgres_url).close()
    yield postgres_url


def _hard_corpus(seed: int = 5) -> list[Piece]:
    """Copies from barely edited to mostly rewritten, trimmed copies (the containment
    rule), follow-ups quoting two sentences, and unrelated articles: the answers near
    the threshold are where two indexes could disagree."""
    rng = random.Random(seed)
    pieces = []
    for b in range(14):
        base = story_text(seed * 100 + b)
        pieces.append(Piece(f"b{b}-0", f"b{b}", base))
        for c, edits in enumerate((2, 8, 13, 17, 21), 1):
            pieces.append(Piece(f"b{b}-{c}", f"b{b}", copy_text(base, b * 50 + c, edits)))
        sentences = base.split(". ")
        half = ". ".join(sentences[: len(sentences) // 2])
        pieces.append(Piece(f"b{b}-trim", f"b{b}", f"(Trimmed) {half}"))
        quoted = ". ".join(rng.sample(sentences, 2))
        pieces.append(Piece(f"b{b}-follow", f"b{b}", story_text(seed * 100 + 60 + b) + quoted))
    pieces += [Piece(f"u{u}", f"u{u}", story_text(seed * 100 + 80 + u)) for u in range(14)]
    rng.shuffle(pieces)
    return pieces


def _reference(pieces: list[Piece]) -> dict[str, int]:
    """What the in-memory flow answers: exact copy, else StoryIndex.find, else new."""
    index, by_fingerprint, out = StoryIndex(7.0), {}, {}
    for number, piece in enumerate(pieces):
        sig, fingerprint = signature(piece.body), body_fingerprint(piece.body)
        story = by_fingerprint.get(fingerprint)
        if story is None:
            story = index.find(sig)
        if story is None:
            story = number
            index.add(story, sig, T0)
        by_fingerprint.setdefault(fingerprint, story)
        out[piece.key] = story
    return out


def _partition(assigned: dict[str, int]) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for key, story in assigned.items():
        groups.setdefault(story, set()).add(key)
    return {frozenset(g) for g in groups.values()}


def test_database_index_answers_as_the_in_memory_index(pg: str) -> None:
    pieces = _hard_corpus()
    store = Store(pg)
    stories = stories_for(store)
    assert isinstance(stories, BandStories)
    found = {}
    for piece in pieces:
        near = stories.finder(signature(piece.body), T0)
        inserted = store.insert_article(record("eq", piece, T0), [], near=near)
        assert inserted is not None
        found[piece.key] = inserted.story_id
    store.close()
    expected = _partition(_reference(pieces))
    assert _partition(found) == expected
    # The set is not trivial: stories of several articles, and articles on their own.
    sizes = sorted(len(g) for g in expected)
    assert sizes[0] == 1 and sizes[-1] >= 4 and len(expected) > 20


def test_sqlite_keeps_the_in_process_index(tmp_path: object) -> None:
    store = Store(f"sqlite:///{tmp_path}/m.db")
    assert isinstance(stories_for(store), StoryTracker)
    assert isinstance(stories_for(None), StoryTracker)
    store.close()


def test_racing_workers_make_one_story_per_group_and_one_alert(pg: str) -> None:
    result = story_race(pg, 4)
    assert result["split"] == 0 and result["merged"] == 0, result
    assert result["stories_found"] == result["stories_expected"] == result["alerts"]


def test_all_copies_at_once_still_make_one_story(pg: str) -> None:
    # Worst case: each worker stores another copy of the same story at the same moment,
    # and every insert pauses after its lookup; the band locks make them take turns.
    result = story_race(pg, 4, lockstep=True, pick_delay=0.05)
    assert result["split"] == 0 and result["stories_found"] == result["stories_expected"], result


def test_without_the_locks_the_same_race_splits_stories(pg: str) -> None:
    # The unsafe variant: what the test above would see if the locks were not taken.
    result = story_race(pg, 4, locked=False, lockstep=True, pick_delay=0.05)
    assert result["split"] > 0 and result["stories_found"] > result["stories_expected"], result


def test_a_worker_joining_100k_stories_inserts_at_once(pg: str) -> None:
    elapsed, joined = join_first_insert(pg, 100_000, tries=3)
    assert joined  # its copy found the one story among 100k it belongs to
    assert elapsed < 50, f"first insert took {elapsed:.1f} ms"


def test_unrelated_articles_do_not_wait_for_each_other(pg: str) -> None:
    # A transaction holding one article's story locks open does not block an unrelated
    # article, but does block a near copy of the held one.
    store = Store(pg)
    base = story_text(11)
    held = store.engine.connect()
    tx = held.begin()
    from monitor.store._stories import lock_story_keys

    sig = signature(base)
    lock_story_keys(held, body_fingerprint(base), BandStories().finder(sig, T0).bands)
    other = store.engine.connect()
    other.execute(sa.text("SET lock_timeout = '300ms'"))
    unrelated = story_text(12)
    lock_story_keys(
        other, body_fingerprint(unrelated), BandStories().finder(signature(unrelated), T0).bands
    )
    other.rollback()
    other.execute(sa.text("SET lock_timeout = '300ms'"))
    copy = copy_text(base, 3)
    with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
        lock_story_keys(
            other, body_fingerprint(copy), BandStories().finder(signature(copy), T0).bands
        )
    other.rollback()
    other.close()
    tx.rollback()
    held.close()
    store.close()


def test_band_keys_older_than_the_window_are_pruned(pg: str) -> None:
    store = Store(pg)
    base = story_text(21)
    first = store.insert_article(
        record("old", Piece("a", "a", base), T0),
        [],
        near=BandStories().finder(signature(base), T0),
    )
    assert first is not None
    assert store.prune_story_bands(T0 + timedelta(days=1)) == 1
    later = T0 + timedelta(days=2)
    copy = copy_text(base, 5)
    second = store.insert_article(
        record("old", Piece("b", "b", copy), later),
        [],
        near=BandStories(window=timedelta(days=30)).finder(signature(copy), later),
    )
    store.close()
    # Its keys gone, the old story is no longer found, even by a wide window.
    assert second is not None and second.story_id != first.story_id


def test_alerts_of_a_story_are_created_once_in_one_statement(pg: str) -> None:
    store = Store(pg)
    base = story_text(31)
    alerts = [NewAlert(rule, "hook", {"alert": rule}) for rule in ("b", "a", "c")]
    first = store.insert_article(
        record("al", Piece("x", "x", base), T0),
        alerts,
        near=BandStories().finder(signature(base), T0),
    )
    copy = copy_text(base, 2)
    again = [NewAlert(rule, "hook", {"alert": rule}) for rule in ("c", "d")]
    second = store.insert_article(
        record("al", Piece("y", "y", copy), T0),
        again,
        near=BandStories().finder(signature(copy), T0),
    )
    store.close()
    assert first is not None and second is not None and first.story_id == second.story_id
    assert [a.rule for _, a in first.created] == ["b", "a", "c"]  # in the caller's order
    assert [a.rule for _, a in second.created] == ["d"]  # c was the story's already


def test_migration_gives_stored_stories_their_band_keys(postgres_url: str) -> None:
    from alembic.config import Config

    from alembic import command
    from monitor.store._engine import ALEMBIC_DIR

    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    store = Store(postgres_url)
    base = story_text(41)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
        conn.execute(
            sa.text("INSERT INTO stories (created, title, signature) VALUES (:c, 'old', :s)"),
            {"c": T0.replace(tzinfo=None), "s": signature(base).to_bytes()},
        )
    store.migrate()
    copy = copy_text(base, 4)
    joined = store.insert_article(
        record("mig", Piece("c", "c", copy), T0), [], near=BandStories().finder(signature(copy), T0)
    )
    store.close()
    assert joined is not None and joined.story_id == 1


def test_a_storys_first_id_is_the_article_its_alert_was_sent_for(
    pg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `rules test` replays the archive by id: the story's first id must be the article
    # that created its alert. Here the first insert is held up just before it takes the
    # story's lock (as a thread descheduled there would be) while a near copy goes
    # through: had the first already inserted its row, it would hold the lower id and
    # lose the story to the copy.
    import threading
    import time

    import monitor.store._articles as articles_module

    real = articles_module.lock_for_story
    held = threading.Event()

    def slow_lock(conn: object, dialect: str, article: object, near: object) -> None:
        if getattr(article, "url", "").endswith("/first"):
            held.set()
            time.sleep(1.0)
        real(conn, dialect, article, near)  # type: ignore[arg-type]

    monkeypatch.setattr(articles_module, "lock_for_story", slow_lock)
    base = story_text(41)
    store = Store(pg)
    try:
        alert = [NewAlert("r", "hook", {"alert": "r"})]
        first_text, copy_text_ = base, copy_text(base, 2)
        outcome: dict[str, object] = {}

        def insert(name: str, text: str) -> None:
            art = record("race", Piece(name, name, text), T0)  # its url ends in /name
            near = BandStories().finder(signature(text), T0)
            outcome[name] = store.insert_article(art, alert, near=near)

        first = threading.Thread(target=insert, args=("first", first_text))
        first.start()
        assert held.wait(10)
        insert("copy", copy_text_)
        first.join(10)
        with store.engine.begin() as conn:
            sent_for, lowest = conn.execute(
                sa.text(
                    "SELECT o.article_id, (SELECT min(id) FROM articles a"
                    " WHERE a.story_id = o.story_id) FROM outbox o"
                )
            ).one()
    finally:
        store.close()
    # The copy went through first: it made the story and its alert, and holds its first id.
    assert sent_for == lowest
