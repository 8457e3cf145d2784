"""worker: sources.host_key, outbox.lease_token (fenced marks), Procrastinate's schema

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 13:30:00

``monitor worker`` partitions due sources by ``host_key % P`` (a CRC-32 of the URL's
host, filled here for the sources already stored), and fences ``mark_sent`` /
``mark_failed`` by the token each outbox claim writes. On PostgreSQL the Procrastinate
job tables and functions are created too (its own ``schema.sql``, once), so ``monitor db
upgrade`` readies a database for workers; SQLite has no workers and gets the columns only.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from monitor.store import host_key

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("host_key", sa.BigInteger(), nullable=True))
        batch.create_index(batch.f("ix_sources_host_key"), ["host_key"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("lease_token", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    sources = sa.table("sources", sa.column("id", sa.Integer), sa.column("url", sa.Text),
                       sa.column("host_key", sa.BigInteger))  # fmt: skip
    rows = bind.execute(sa.select(sources.c.id, sources.c.url)).all()
    for row in rows:
        bind.execute(
            sa.update(sources).where(sources.c.id == row.id).values(host_key=host_key(row.url))
        )
    if bind.dialect.name == "postgresql":
        apply_procrastinate_schema(bind)


def apply_procrastinate_schema(bind: sa.Connection) -> None:
    """Procrastinate's tables, types and functions, unless a previous run made them."""
    from procrastinate.schema import SchemaManager

    present = bind.exec_driver_sql("SELECT to_regclass('procrastinate_jobs')").scalar()
    if present is None:
        # SQLAlchemy hands psycopg a parameter list, so '%' must be doubled (as
        # Procrastinate's own apply_schema does).
        bind.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    # Procrastinate's schema is left in place: dropping it would drop queued jobs.
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("lease_token")
    with op.batch_alter_table("sources") as batch:
        batch.drop_index(batch.f("ix_sources_host_key"))
        batch.drop_column("host_key")
