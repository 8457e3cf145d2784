"""cluster state: story band keys (PostgreSQL), the rules table and its version

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 13:30:00

``story_bands`` holds each story's LSH band keys (``monitor.dedupe.band_keys``) in an
``int8[]`` with a GIN index, so a worker finds near copies in the database instead of
loading every story into memory. PostgreSQL only: SQLite keeps its in-process index.
Stories already stored with a signature get their keys here, in batches. ``rules`` and
``rule_state`` exist on both engines.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import monitor.store._tables
from alembic import op
from monitor.dedupe import Signature, band_keys

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000


def upgrade() -> None:
    op.create_table(
        "rules",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index("ix_rules_version", "rules", ["version"])
    op.create_table(
        "rule_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("synonyms", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.create_table(
        "story_bands",
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("created", monitor.store._tables.UTCDateTime(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("bands", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"]),
        sa.PrimaryKeyConstraint("story_id"),
    )
    op.create_index("ix_story_bands_created", "story_bands", ["created"])
    backfill(bind)
    # fastupdate off: a new story's keys go straight into the index instead of a pending
    # list every find would scan; inserts pay a little, finds stay flat.
    bind.exec_driver_sql(
        "CREATE INDEX ix_story_bands_bands ON story_bands USING gin (bands) WITH (fastupdate = off)"
    )


def backfill(conn: sa.Connection, batch: int = BATCH) -> int:
    """Give every story with a signature its band keys; returns how many were written."""
    written, last = 0, 0
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT id, created, signature FROM stories "
                "WHERE id > :last AND signature IS NOT NULL ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": batch},
        ).all()
        if not rows:
            return written
        values = []
        for story_id, created, blob in rows:
            try:
                keys = band_keys(Signature.from_bytes(bytes(blob)))
            except ValueError:
                continue  # a signature of another version: it matches nothing anyway
            if keys:
                values.append({"s": story_id, "c": created, "g": bytes(blob), "b": list(keys)})
        if values:
            conn.execute(
                sa.text(
                    "INSERT INTO story_bands (story_id, created, signature, bands) "
                    "VALUES (:s, :c, :g, :b)"
                ),
                values,
            )
        written += len(values)
        last = rows[-1][0]


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.drop_table("story_bands")
    op.drop_table("rule_state")
    op.drop_index("ix_rules_version", table_name="rules")
    op.drop_table("rules")
