"""The tables: sources, stories (and their band keys), articles, the alert outbox,
channel state, and the alerts' rules.

Times are stored as naive UTC (SQLite has no time zone type) and converted to aware
UTC at the edge of the store by ``UTCDateTime``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, naive UTC in the database."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class SourceRow(SQLModel, table=True):
    __tablename__ = "sources"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    url: str = Field(sa_type=sa.Text)
    kind: str = Field(max_length=10, default="feed")
    interval_seconds: int = 600
    enabled: bool = True
    next_check: datetime | None = _ts(index=True)
    lease_until: datetime | None = _ts()
    lease_owner: str | None = Field(default=None, max_length=100)
    etag: str | None = Field(default=None, sa_type=sa.Text)
    last_modified: str | None = Field(default=None, max_length=100)
    error_count: int = 0
    failing_since: datetime | None = _ts()
    health_notified: bool = False
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    last_error_kind: str | None = Field(default=None, max_length=40)
    last_poll: datetime | None = _ts()
    last_success: datetime | None = _ts()
    polls: int = 0
    failures: int = 0
    articles_seen: int = 0
    # A stable hash of the URL's host (store.host_key, alembic 0004): the workers
    # partition due sources by host_key % P, so one job at a time polls any host.
    host_key: int | None = Field(default=None, sa_type=sa.BigInteger, index=True)


class StoryRow(SQLModel, table=True):
    __tablename__ = "stories"

    id: int | None = Field(default=None, primary_key=True)
    created: datetime | None = _ts(nullable=False, index=True)
    title: str = Field(default="", sa_type=sa.Text)
    fingerprint: str | None = Field(default=None, max_length=64, index=True)
    signature: bytes | None = Field(default=None, sa_type=sa.LargeBinary)


class ArticleRow(SQLModel, table=True):
    __tablename__ = "articles"

    id: int | None = Field(default=None, primary_key=True)
    url_key: str = Field(max_length=64, unique=True)
    url: str = Field(sa_type=sa.Text)
    canonical_url: str = Field(sa_type=sa.Text)
    guid: str | None = Field(default=None, sa_type=sa.Text)
    source: str = Field(max_length=200, index=True)
    story_id: int | None = Field(default=None, foreign_key="stories.id", index=True)
    title: str = Field(default="", sa_type=sa.Text)
    body: str = Field(default="", sa_type=sa.Text)
    summary: str = Field(default="", sa_type=sa.Text)
    authors: str = Field(default="", sa_type=sa.Text)
    language: str | None = Field(default=None, max_length=16)
    published: datetime | None = _ts()
    first_seen: datetime | None = _ts(nullable=False, index=True)
    updated: datetime | None = _ts()
    quality: str = Field(default="ok", max_length=16)
    fingerprint: str | None = Field(default=None, max_length=64, index=True)
    # The search keys of the title and body (rules.article_keys), space-separated, and
    # those of the title alone, which become the search keys once retention drops the
    # body. PostgreSQL indexes search_keys with GIN, SQLite with an FTS5 table kept by
    # triggers (alembic 0002); neither index is in this metadata.
    search_keys: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    title_keys: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})


class OutboxRow(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (sa.UniqueConstraint("rule", "story_id", "channel", name="uq_outbox_once"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: str = Field(max_length=64, unique=True)
    rule: str = Field(max_length=200)
    channel: str = Field(max_length=200, index=True)
    # Both empty for notices about a source's health, which concern no article.
    story_id: int | None = Field(default=None, foreign_key="stories.id")
    article_id: int | None = Field(default=None, foreign_key="articles.id")
    payload: str = Field(sa_type=sa.Text)
    status: str = Field(default="pending", max_length=10, index=True)
    attempts: int = 0
    next_attempt: datetime | None = _ts(index=True)
    lease_until: datetime | None = _ts()
    lease_owner: str | None = Field(default=None, max_length=100)
    # Written by each claim: mark_sent/mark_failed with a token change only a row still
    # leased under it, so a sender that lost its lease cannot mark another's row.
    lease_token: str | None = Field(default=None, max_length=64)
    created: datetime | None = _ts(nullable=False)
    sent_at: datetime | None = _ts()
    last_error: str | None = Field(default=None, sa_type=sa.Text)


class ChannelRow(SQLModel, table=True):
    __tablename__ = "channels"

    name: str = Field(max_length=200, primary_key=True)
    disabled: bool = False
    disabled_reason: str | None = Field(default=None, sa_type=sa.Text)
    last_digest: datetime | None = _ts()
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    last_success: datetime | None = _ts()
    delivered: int = 0
    failures: int = 0


class StoryBandRow(SQLModel, table=True):
    """The near-copy index in the database (PostgreSQL only: alembic 0003 creates it
    there, never on SQLite): each story's LSH band keys (``dedupe.band_keys``), GIN-
    indexed, so an insert finds the stories sharing a band in one index probe. The
    founding signature is copied here so that probe reads no other table (a join to
    ``stories`` made the planner, which cannot estimate ``&&``, scan all of it)."""

    __tablename__ = "story_bands"

    story_id: int = Field(primary_key=True, foreign_key="stories.id")
    created: datetime | None = _ts(nullable=False, index=True)
    signature: bytes = Field(sa_type=sa.LargeBinary)
    bands: list[int] = Field(sa_type=sa.ARRAY(sa.BigInteger))


class RuleRow(SQLModel, table=True):
    """An alert of sources.yaml as every worker reads it. ``version`` is the
    ``rule_state.version`` of the sync that last changed it; a removed alert stays as a
    ``deleted`` row, so a worker catching up learns of removals too."""

    __tablename__ = "rules"

    name: str = Field(max_length=200, primary_key=True)
    query: str = Field(sa_type=sa.Text)
    spec: str = Field(sa_type=sa.Text)  # the alert's config, JSON
    hash: str = Field(max_length=64)
    version: int = Field(sa_type=sa.BigInteger, index=True)
    deleted: bool = False


class RuleStateRow(SQLModel, table=True):
    """One row: the rules' version (bumped by each sync that changes something) and the
    synonyms every query is parsed with."""

    __tablename__ = "rule_state"

    id: int = Field(primary_key=True)
    version: int = Field(default=0, sa_type=sa.BigInteger)
    synonyms: str = Field(default="[]", sa_type=sa.Text)


class AliasRow(SQLModel, table=True):
    """Another link to a stored article: a redirector, a variant with extra parameters,
    or the page's own canonical URL when the feed linked elsewhere (alembic 0005)."""

    __tablename__ = "article_aliases"

    url_key: str = Field(max_length=64, primary_key=True)
    article_id: int = Field(foreign_key="articles.id", index=True)


class HeartbeatRow(SQLModel, table=True):
    """One row per daemon: ``monitor status`` tells a running one from one that stopped
    (``stopped`` set) or died (``last_seen`` too old)."""

    __tablename__ = "heartbeats"

    owner: str = Field(max_length=100, primary_key=True)  # host:pid:nonce, as leases name it
    host: str = Field(max_length=255)
    pid: int
    started: datetime | None = _ts(nullable=False)
    last_seen: datetime | None = _ts(nullable=False)
    stopped: datetime | None = _ts()


metadata = SQLModel.metadata
