"""search index: articles.search_keys / title_keys, GIN on search_tsv (PostgreSQL) or FTS5 (SQLite)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-08 10:00:00

Existing articles get their keys from ``monitor.rules.article_keys`` (the rule
analyzer itself), read and written in batches, with a progress bar on a terminal; the
index is built once they all have them, which is faster than keeping it up to date row
by row.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import sqlalchemy as sa
from tqdm import tqdm

from alembic import op
from monitor.rules import article_keys

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000

# SQLite: an external-content FTS5 table over articles.search_keys, kept by triggers in
# the writing statement's own transaction. "ascii" splits only on ASCII punctuation and
# spaces, so a key (letters and digits, accents included) is always one token; no
# positions are kept (detail=none): the matcher checks phrases and proximity.
SQLITE_DDL = (
    """CREATE VIRTUAL TABLE articles_search USING fts5(
        search_keys, content='articles', content_rowid='id',
        tokenize='ascii', detail='none', columnsize=0)""",
    "INSERT INTO articles_search(articles_search) VALUES ('rebuild')",
    """CREATE TRIGGER articles_search_insert AFTER INSERT ON articles BEGIN
        INSERT INTO articles_search(rowid, search_keys) VALUES (new.id, new.search_keys);
    END""",
    """CREATE TRIGGER articles_search_delete AFTER DELETE ON articles BEGIN
        INSERT INTO articles_search(articles_search, rowid, search_keys)
        VALUES ('delete', old.id, old.search_keys);
    END""",
    """CREATE TRIGGER articles_search_update AFTER UPDATE OF search_keys ON articles BEGIN
        INSERT INTO articles_search(articles_search, rowid, search_keys)
        VALUES ('delete', old.id, old.search_keys);
        INSERT INTO articles_search(rowid, search_keys) VALUES (new.id, new.search_keys);
    END""",
)
# PostgreSQL: the keys as a stored tsvector, generated from search_keys by the database
# in the very statement that writes them (insert, edit, prune, the backfill below), and
# GIN-indexed. An index on the expression alone left every row the planner reads
# outside the index (walking the primary key newest first, or rechecking a lossy bitmap)
# to split and sort its keys again; the stored column is read as it is. The lexemes are
# the keys untouched: no text search configuration is involved.
POSTGRES_COLUMN = (
    "ALTER TABLE articles ADD COLUMN search_tsv tsvector "
    "GENERATED ALWAYS AS (array_to_tsvector(string_to_array(search_keys, ' '))) STORED"
)
POSTGRES_DDL = ("CREATE INDEX ix_articles_search_tsv ON articles USING gin (search_tsv)",)


def upgrade() -> None:
    for column in ("search_keys", "title_keys"):
        op.add_column("articles", sa.Column(column, sa.Text(), nullable=False, server_default=""))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # Before the backfill: the table is rewritten while every key is still empty,
        # and each backfilled row then gets its tsvector in its own UPDATE.
        bind.exec_driver_sql(POSTGRES_COLUMN)
    backfill(bind)
    for statement in SQLITE_DDL if bind.dialect.name == "sqlite" else POSTGRES_DDL:
        bind.exec_driver_sql(statement)


def backfill(conn: sa.Connection, batch: int = BATCH) -> int:
    """Give every article its search keys; returns how many were written."""
    articles = sa.table(
        "articles", sa.column("id", sa.Integer), sa.column("title", sa.Text),
        sa.column("body", sa.Text), sa.column("language", sa.Text),
        sa.column("search_keys", sa.Text), sa.column("title_keys", sa.Text),
    )  # fmt: skip
    a = articles.c
    total = conn.execute(sa.select(sa.func.count()).select_from(articles)).scalar_one()
    update = (
        sa.update(articles)
        .where(a.id == sa.bindparam("row_id"))
        .values(search_keys=sa.bindparam("keys"), title_keys=sa.bindparam("tkeys"))
    )
    done = 0
    last = 0
    with tqdm(
        total=total, unit="article", desc="search index", file=sys.stderr, disable=None
    ) as bar:
        while True:
            rows = conn.execute(
                sa.select(a.id, a.title, a.body, a.language)
                .where(a.id > last)
                .order_by(a.id)
                .limit(batch)
            ).all()
            if not rows:
                return done
            conn.execute(
                update,
                [
                    {
                        "row_id": row.id,
                        "keys": article_keys(row.title, row.body, row.language),
                        "tkeys": article_keys(row.title, "", row.language),
                    }
                    for row in rows
                ],
            )
            done += len(rows)
            bar.update(len(rows))
            last = rows[-1].id


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS articles_search_{trigger}")
        bind.exec_driver_sql("DROP TABLE IF EXISTS articles_search")
    else:
        bind.exec_driver_sql("DROP INDEX IF EXISTS ix_articles_search_tsv")
        bind.exec_driver_sql("ALTER TABLE articles DROP COLUMN IF EXISTS search_tsv")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("title_keys")
        batch.drop_column("search_keys")
