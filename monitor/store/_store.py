"""The store: every query, grouped by what it works on.

Every write that must be atomic is one statement or one transaction, so callers never
hold ORM objects or sessions. Calls are synchronous; the pipeline runs them in a worker
thread. A database failure leaves every method as a :class:`StoreError`, never a raw
SQLAlchemy exception: callers handle one error tree.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine.url import make_url

from monitor.errors import StoreError
from monitor.store._aliases import AliasOps
from monitor.store._articles import ArticleOps
from monitor.store._base import alert_id
from monitor.store._engine import display_url, normalize_url, password_forms
from monitor.store._outbox import OutboxOps
from monitor.store._preview import PreviewOps
from monitor.store._rules import RuleOps
from monitor.store._search import SearchOps
from monitor.store._sources import SourceOps
from monitor.text import redact_urls

F = TypeVar("F", bound=Callable[..., Any])


def _failure(name: str, exc: sa.exc.SQLAlchemyError) -> StoreError:
    cause = getattr(exc, "orig", None) or exc
    first = redact_urls((str(cause).strip().splitlines() or [""])[0][:300])
    return StoreError(f"database error in {name}: {type(cause).__name__}: {first}")


def store_errors(fn: F) -> F:
    """Turn SQLAlchemy's errors raised by ``fn`` (a function or a generator) into StoreError."""
    name = fn.__name__
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from fn(*args, **kwargs)
            except sa.exc.SQLAlchemyError as exc:
                raise _failure(name, exc) from exc

        return gen  # type: ignore[return-value]

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except sa.exc.SQLAlchemyError as exc:
            raise _failure(name, exc) from exc

    return call  # type: ignore[return-value]


class Store(SourceOps, ArticleOps, OutboxOps, PreviewOps, SearchOps, RuleOps, AliasOps):
    """The database: one engine, migrated on demand."""


for _name, _member in inspect.getmembers(Store, inspect.isfunction):
    if not _name.startswith("_"):
        setattr(Store, _name, store_errors(_member))


def open_store(url: str) -> Store:
    """Connect and migrate; a database that does not answer is a StoreError."""
    store = Store(url)
    try:
        store.migrate()
    except Exception as exc:
        store.close()
        # The driver's message may quote the URL or the password itself (in any form).
        detail = redact_urls(str(exc))
        for form in password_forms(url):
            detail = detail.replace(form, "***")
        where = display_url(url)
        raise StoreError(
            f"cannot open the database {where}: {type(exc).__name__}: {detail}"
        ) from None
    return store


def open_existing(url: str) -> Store | None:
    """The database as it is, for a dry run: None when it does not exist yet, does not
    answer or has no articles table. Never created, never migrated (both write)."""
    try:
        parsed = make_url(normalize_url(url))
    except sa.exc.ArgumentError:
        return None
    if parsed.get_backend_name() == "sqlite":
        # Connecting to SQLite creates the file: look before touching it.
        name = parsed.database or ""
        if name in ("", ":memory:") or not Path(name).is_file():
            return None
    try:
        store = Store(url)
    except StoreError:
        return None
    try:
        with store.engine.connect() as conn:
            ready = sa.inspect(conn).has_table("articles") and sa.inspect(conn).has_table("outbox")
    except sa.exc.SQLAlchemyError:
        ready = False
    if not ready:
        store.close()
        return None
    return store


__all__ = ["Store", "alert_id", "open_existing", "open_store", "store_errors"]
