"""The alerts' rules in the database: synced from sources.yaml in bulk, read back by
every worker incrementally (``rule_changes`` after the version it holds), with a
PostgreSQL NOTIFY on ``RULES_CHANNEL`` each time a sync changes something."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.errors import StoreError
from monitor.store._base import StoreBase, bulk_upsert, rule_state_t, rules_t
from monitor.store._models import RuleChanges, RuleSpec

RULES_CHANNEL = "monitor_rules"
# Rows per multi-row statement: well under SQLite's 32,766 bound variables.
_CHUNK = 1000


def rule_hash(spec: RuleSpec, synonyms: str) -> str:
    """What a rule is, as one digest: its query, its config and the synonyms it is
    parsed with (new synonyms change every rule)."""
    text = "\x1f".join((spec.query, spec.spec, synonyms))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class RuleOps(StoreBase):
    """The rules table, written by a config sync and read by every worker."""

    def sync_rules(self, specs: Sequence[RuleSpec], synonyms: str = "[]") -> int:
        """Make the rules table match ``specs``; returns the rules' version after it.

        Only new, changed and removed rules are written, in multi-row statements, all
        under one new version; nothing changed leaves the version as it was. Syncs
        serialise on the ``rule_state`` row, so versions commit in order.
        """
        r = rules_t.c
        with self.engine.begin() as conn:
            version, old_synonyms = _locked_state(conn, self._insert(rule_state_t))
            stored = {row.name: (row.hash, row.deleted) for row in conn.execute(
                sa.select(r.name, r.hash, r.deleted)
            )}  # fmt: skip
            wanted = {spec.name: (spec, rule_hash(spec, synonyms)) for spec in specs}
            changed = [
                (spec, digest)
                for name, (spec, digest) in wanted.items()
                if stored.get(name) != (digest, False)
            ]
            removed = [n for n, (_, deleted) in stored.items() if not deleted and n not in wanted]
            if not changed and not removed and synonyms == old_synonyms:
                return version
            version += 1
            self._upsert_rules(conn, changed, version)
            for start in range(0, len(removed), _CHUNK):
                conn.execute(
                    sa.update(rules_t)
                    .where(r.name.in_(removed[start : start + _CHUNK]))
                    .values(deleted=True, version=version)
                )
            conn.execute(
                sa.update(rule_state_t)
                .where(rule_state_t.c.id == 1)
                .values(version=version, synonyms=synonyms)
            )
            if self.dialect == "postgresql":
                # Delivered at commit, to every worker listening.
                conn.execute(sa.select(sa.func.pg_notify(RULES_CHANNEL, str(version))))
        return version

    def _upsert_rules(
        self, conn: Connection, changed: Sequence[tuple[RuleSpec, str]], version: int
    ) -> None:
        if not changed:
            return
        rows = [
            {"name": s.name, "query": s.query, "spec": s.spec, "hash": digest,
             "version": version, "deleted": False}
            for s, digest in changed
        ]  # fmt: skip
        updated = ("query", "spec", "hash", "version", "deleted")
        bulk_upsert(conn, rules_t, rows, "name", updated, sqlite_insert=self._insert)

    def rule_version(self) -> int:
        """The rules' current version (0: never synced); cheap enough to poll."""
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(rule_state_t.c.version).where(rule_state_t.c.id == 1)
            ).scalar()
        return int(value or 0)

    def rule_changes(self, after: int) -> RuleChanges:
        """Rules added, edited or removed since version ``after`` (0: every rule), read in
        one snapshot so the version returned matches the rows."""
        r = rules_t.c
        options = {"isolation_level": "REPEATABLE READ"} if self.dialect == "postgresql" else {}
        with self.engine.connect().execution_options(**options) as conn, conn.begin():
            state = conn.execute(
                sa.select(rule_state_t.c.version, rule_state_t.c.synonyms).where(
                    rule_state_t.c.id == 1
                )
            ).one_or_none()
            if state is None or int(state.version) <= after:
                return RuleChanges(max(after, 0), state.synonyms if state else "[]", (), ())
            query = sa.select(r.name, r.query, r.spec, r.deleted).where(r.version > after)
            rows = conn.execute(query.order_by(r.name)).all()
        changed = tuple(RuleSpec(x.name, x.query, x.spec) for x in rows if not x.deleted)
        removed = tuple(x.name for x in rows if x.deleted and after > 0)
        return RuleChanges(int(state.version), state.synonyms, changed, removed)

    def rule_listener(self) -> RuleListener | None:
        """A connection LISTENing for rule changes (PostgreSQL); None on SQLite."""
        if self.dialect != "postgresql":
            return None
        return RuleListener(self.engine.url.set(drivername="postgresql"))


def _locked_state(conn: Connection, insert: Any) -> tuple[int, str]:
    conn.execute(insert.values(id=1, version=0, synonyms="[]").on_conflict_do_nothing())
    row = conn.execute(
        sa.select(rule_state_t.c.version, rule_state_t.c.synonyms)
        .where(rule_state_t.c.id == 1)
        .with_for_update()
    ).one()
    return int(row.version), str(row.synonyms)


class RuleListener:
    """A dedicated connection LISTENing on ``RULES_CHANNEL``; ``wait`` blocks a thread,
    never the event loop. Its failures are ``StoreError``s, like the store's."""

    def __init__(self, url: sa.URL) -> None:
        import psycopg

        self._error = psycopg.Error
        try:
            self._conn = psycopg.connect(
                url.render_as_string(hide_password=False), autocommit=True, connect_timeout=10
            )
        except psycopg.Error as exc:
            raise StoreError(f"cannot listen for rule changes: {type(exc).__name__}") from exc
        try:
            self._conn.execute(f"LISTEN {RULES_CHANNEL}")
        except psycopg.Error as exc:
            self._conn.close()
            raise StoreError(f"cannot listen for rule changes: {type(exc).__name__}") from exc

    def wait(self, timeout: float) -> bool:
        """True when a change was notified within ``timeout`` seconds; the notices that
        came with it are drained too (one catch-up covers them all)."""
        try:
            got = any(True for _ in self._conn.notifies(timeout=timeout, stop_after=1))
            if got:
                for _ in self._conn.notifies(timeout=0.01):
                    pass
        except self._error as exc:
            raise StoreError(f"lost the rule-change listener: {type(exc).__name__}") from exc
        return got

    def close(self) -> None:
        self._conn.close()
