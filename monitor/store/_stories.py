"""Which story a new article joins, and the locks that make the answer race-free.

Two ways to find near copies, chosen by what the pipeline hands in:

* a ``NearFinder`` (SQLite, and any caller keeping its own ``StoryIndex``): it reads
  the stories created since it last looked; on PostgreSQL the whole choice is then
  serialised by one cluster-wide advisory lock;
* a ``BandQuery`` (PostgreSQL): the stories sharing a band key are read from
  ``story_bands`` (GIN), and the transaction locks only the article's own fingerprint
  and band keys, sorted, so two near copies (which share a key) serialise, unrelated
  articles never wait, and no two transactions can deadlock on these locks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from monitor.errors import StoreError
from monitor.store._base import articles_t, stories_t, story_bands_t
from monitor.store._models import BandQuery, NearFinder, NewArticle, StoryCandidate

# The lock of the NearFinder way (one-int8 advisory key space).
STORY_LOCK = 7130002
# The BandQuery way uses the two-int4 key space, which never meets the one-int8 one:
# band i's keys under class BAND_LOCK_CLASS + i, fingerprints under FINGERPRINT_LOCK_CLASS.
BAND_LOCK_CLASS = 0x6D6E0000
FINGERPRINT_LOCK_CLASS = BAND_LOCK_CLASS + 0x8000

_LOCK_SQL = sa.text(
    # unnest yields the pairs in array order, so the locks are taken in the sorted order
    # they were given in: every transaction takes shared keys in the same order.
    "SELECT count(pg_advisory_xact_lock(c, o)) "
    "FROM unnest(CAST(:classes AS int4[]), CAST(:objects AS int4[])) AS t(c, o)"
)


def _int4(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def story_lock_keys(fingerprint: str | None, bands: Sequence[int]) -> list[tuple[int, int]]:
    """The (class, object) advisory keys an insert locks, sorted."""
    keys = {(BAND_LOCK_CLASS + (band >> 32), _int4(band)) for band in bands}
    if fingerprint:
        digest = hashlib.blake2b(fingerprint.encode(), digest_size=4).digest()
        keys.add((FINGERPRINT_LOCK_CLASS, _int4(int.from_bytes(digest, "big"))))
    return sorted(keys)


def lock_story_keys(conn: Connection, fingerprint: str | None, bands: Sequence[int]) -> None:
    """Take, until the transaction ends, the locks of the fingerprint and band keys."""
    keys = story_lock_keys(fingerprint, bands)
    if keys:
        conn.execute(_LOCK_SQL, {"classes": [c for c, _ in keys], "objects": [o for _, o in keys]})


def lock_for_story(
    conn: Connection, dialect: str, article: NewArticle, near: NearFinder | BandQuery | None
) -> None:
    """Serialise this insert against those that could pick the same story."""
    if dialect != "postgresql":
        if isinstance(near, BandQuery):
            raise StoreError("the database story index needs PostgreSQL")
        return  # SQLite: BEGIN IMMEDIATE has serialised every writer already
    if near is None or isinstance(near, BandQuery):
        lock_story_keys(conn, article.fingerprint, near.bands if near else ())
    else:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": STORY_LOCK})


def existing_story(
    conn: Connection, article: NewArticle, near: NearFinder | BandQuery | None
) -> int | None:
    """The stored story ``article`` belongs to: an exact copy's (same body fingerprint),
    else the one ``near`` names; None when it starts a story of its own. Reads only, so
    a dry run asks the same question an insert does."""
    if article.fingerprint:
        existing = conn.execute(_SAME_BODY, {"b_fingerprint": article.fingerprint}).scalar()
        if existing is not None:
            return int(existing)
    if isinstance(near, BandQuery):
        return near.pick(band_candidates(conn, near.bands, near.since)) if near.bands else None
    if near is not None:
        return near(lambda after, since: _stories_after(conn, after, since))
    return None


def create_story(conn: Connection, article: NewArticle, near: NearFinder | BandQuery | None) -> int:
    """A new story founded by ``article``; with a BandQuery, its band keys are indexed."""
    row = {
        "created": article.first_seen,
        "title": article.title,
        "fingerprint": article.fingerprint,
        "signature": article.signature,
    }
    story_id = int(conn.execute(_NEW_STORY, row).scalar_one())
    if isinstance(near, BandQuery) and near.bands and article.signature is not None:
        conn.execute(
            sa.insert(story_bands_t).values(
                story_id=story_id,
                created=article.first_seen,
                signature=article.signature,
                bands=list(near.bands),
            )
        )
    return story_id


def band_candidates(
    conn: Connection, bands: Sequence[int], since: datetime
) -> list[StoryCandidate]:
    """Stories created since ``since`` sharing at least one of ``bands``: one GIN probe."""
    b = story_bands_t.c
    wanted = sa.bindparam("bands", list(bands), type_=postgresql.ARRAY(sa.BigInteger))
    rows = conn.execute(
        sa.select(b.story_id, b.signature, b.created).where(
            b.bands.op("&&")(wanted), b.created >= since
        )
    )
    return [(int(r.story_id), bytes(r.signature), r.created) for r in rows]


# Built once, values as parameters: SQLAlchemy then reuses its compiled form (see
# ArticleOps), where a statement built around its values is worked out again each time.
_SAME_BODY = (
    sa.select(articles_t.c.story_id)
    .where(
        articles_t.c.fingerprint == sa.bindparam("b_fingerprint"),
        articles_t.c.story_id.is_not(None),
    )
    .limit(1)
)
_NEW_STORY = sa.insert(stories_t).returning(stories_t.c.id)
_STORIES_AFTER = (
    sa.select(stories_t.c.id, stories_t.c.signature, stories_t.c.created)
    .where(
        stories_t.c.id > sa.bindparam("b_after"),
        stories_t.c.created >= sa.bindparam("b_since", type_=stories_t.c.created.type),
        stories_t.c.signature.is_not(None),
    )
    .order_by(stories_t.c.id)
)


def _stories_after(
    conn: Connection, after: int, since: datetime
) -> list[tuple[int, bytes, datetime]]:
    rows = conn.execute(_STORIES_AFTER, {"b_after": after, "b_since": since})
    return [(int(r.id), bytes(r.signature), r.created) for r in rows]
