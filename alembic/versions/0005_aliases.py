"""article aliases: other links to a stored article (one article, one row)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 13:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "article_aliases",
        sa.Column("url_key", sa.String(length=64), primary_key=True),
        sa.Column("article_id", sa.Integer(), sa.ForeignKey("articles.id"), nullable=False),
    )
    op.create_index("ix_article_aliases_article_id", "article_aliases", ["article_id"])


def downgrade() -> None:
    op.drop_index("ix_article_aliases_article_id", table_name="article_aliases")
    op.drop_table("article_aliases")
