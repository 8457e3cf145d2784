"""The orchestrator: one source's poll, wired through every stage.

fetch → parse feed / listing page → dedupe key → skip what the store has → fetch and
extract new articles → match alert rules → store article + story + outbox rows in one
transaction → record the poll on the source (success, or the error and a backoff).

Dependencies arrive in a ``Runtime``; nothing here reads globals.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from monitor.config import SourceConfig
from monitor.dedupe import canonical_url, url_key
from monitor.errors import MonitorError, StoreError
from monitor.observe import event
from monitor.pipeline._article import Prepared, given_up, prepare
from monitor.pipeline._cadence import MAX_BACKOFF, after_failure, after_success
from monitor.pipeline._health import health_notice
from monitor.pipeline._listing import Candidate, Listing, fetch_candidates
from monitor.pipeline._runtime import Runtime
from monitor.store import Aliased, ClaimedSource, FailedPoll, GoodPoll, Health, PendingArticle
from monitor.text import redact_url

log = logging.getLogger("monitor.pipeline")

# Articles fetched per poll at the most: a first poll of a huge feed must not take hours.
MAX_NEW_PER_POLL = 100
# New articles stored together (store.insert_articles), each with its alerts: fewer
# transactions, and a crash loses at most these few extracted articles, fetched again
# at the next poll since none of them was recorded as known. Small, since every poll in
# flight holds its batch in memory; most of the saving is had by the first few.
STORE_BATCH = 4


@dataclass(frozen=True)
class PollResult:
    source: str
    ok: bool
    new_articles: int = 0
    alerts: int = 0
    error: str | None = None
    kind: str | None = None  # the error's kind ("store": the database failed)


async def poll_source(rt: Runtime, claimed: ClaimedSource) -> PollResult:
    """Poll one leased source; every failure is recorded on it, never raised."""
    try:
        return await _poll_and_record(rt, claimed)
    except Exception as exc:
        # Recording the outcome failed too (the database went away): nothing was marked,
        # so the lease runs out and the source is polled again; the daemon goes on.
        message = _describe(exc)
        event(log, "poll not recorded", logging.ERROR, source=claimed.name, error=message)
        kind = exc.kind if isinstance(exc, MonitorError) else "internal"
        return PollResult(claimed.name, False, error=message, kind=kind)


async def _poll_and_record(rt: Runtime, claimed: ClaimedSource) -> PollResult:
    now = rt.clock()
    source = rt.source(claimed.name)
    if source is None:  # removed from the config since it was claimed
        await asyncio.to_thread(
            rt.db().release_failure, claimed.id, now, now + MAX_BACKOFF, "config", "not in config"
        )
        return PollResult(claimed.name, False, error="not in config")
    try:
        new, alerts, listing = await _poll(rt, source, claimed)
    except Exception as exc:  # one bad source never stops the others
        return await _failed(rt, source, claimed, exc)
    result = listing.result
    keep = result.not_modified
    rt.metrics.polls.labels(source.name, "not_modified" if keep else "ok").inc()
    now = rt.clock()
    next_check = after_success(source, listing, now, rt.rng)
    # A 304 carries no new validators: keep the ones that earned it.
    etag = result.etag or (claimed.etag if keep else None)
    last_modified = result.last_modified or (claimed.last_modified if keep else None)
    rt.metrics.feed_malformed.labels(source.name).set(1 if listing.malformed else 0)
    if rt.ledger is not None and claimed.error_count == 0 and listing.malformed is None:
        # No failure streak to end, so nothing to read back: written with others.
        rt.ledger.add(GoodPoll(claimed.id, now, next_check, etag, last_modified, new))
    else:
        health = await asyncio.to_thread(
            rt.db().release_success, claimed.id, now, next_check,
            etag=etag, last_modified=last_modified, new_articles=new,
            malformed=listing.malformed,
        )  # fmt: skip
        if health.notified and health.failing_since is not None:
            await health_notice(rt, source, claimed.id, health.failing_since, recovered=True)
    # A 304 is the common case of a large config: a line each only when debugging.
    level = logging.DEBUG if keep else logging.INFO
    event(log, "poll done", level, source=source.name, new=new, alerts=alerts,
          next_check=next_check)  # fmt: skip
    return PollResult(source.name, True, new, alerts)


async def _failed(
    rt: Runtime, source: SourceConfig, claimed: ClaimedSource, exc: Exception
) -> PollResult:
    kind = exc.kind if isinstance(exc, MonitorError) else "internal"
    message = _describe(exc)
    # A bad source is a warning; a failing database or a bug is an error someone must see.
    expected = isinstance(exc, MonitorError) and not isinstance(exc, StoreError)
    level = logging.WARNING if expected else logging.ERROR
    url = redact_url(source.url)
    event(log, "poll failed", level, source=source.name, url=url, kind=kind, error=message)
    rt.metrics.polls.labels(source.name, "error").inc()
    rt.metrics.fetch_errors.labels(kind).inc()
    now = rt.clock()
    next_check = after_failure(source, claimed.error_count + 1, exc, now, rt.rng)
    failed = FailedPoll(claimed.id, now, next_check, kind, message)
    then = partial(_failing_notice, rt, source, failed)
    # Written with others (a network outage fails many at once); but a poll the
    # database failed is recorded, or found unrecordable ("poll not recorded"), now.
    if rt.ledger is not None and rt.ledger.takes_failures and not isinstance(exc, StoreError):
        rt.ledger.add_failure(failed, then)
    else:
        await then((await asyncio.to_thread(rt.db().release_failures, [failed]))[0])
    return PollResult(source.name, False, error=message, kind=kind)


async def _failing_notice(
    rt: Runtime, source: SourceConfig, failed: FailedPoll, health: Health
) -> None:
    """Once a failed poll is written: a "failing" notice if its streak is old enough."""
    limits = rt.config.health
    since = health.failing_since
    if limits and since and not health.notified and failed.now - since >= limits.after:
        await health_notice(rt, source, failed.source_id, since, recovered=False,
                            error=failed.message)  # fmt: skip


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, MonitorError) else f"{type(exc).__name__}: {text}"


async def _poll(
    rt: Runtime, source: SourceConfig, claimed: ClaimedSource
) -> tuple[int, int, Listing]:
    store = rt.db()
    listing = await fetch_candidates(rt, source, claimed.etag, claimed.last_modified)
    candidates = listing.candidates
    if listing.result.not_modified:
        return 0, 0, listing
    known = await asyncio.to_thread(store.known_keys, [c.key for c in candidates])
    fresh = [c for c in candidates if c.key not in known or was_edited(c, known[c.key])]
    rt.metrics.articles.labels(source.name, "duplicate").inc(len(candidates) - len(fresh))
    new = alerts = 0
    batch: list[PendingArticle] = []
    for candidate in fresh[:MAX_NEW_PER_POLL]:
        try:
            prepared = await prepare(rt, source, candidate)
        except StoreError:
            raise
        except Exception as exc:  # the last resort: this article only, never the poll
            prepared = given_up(rt, source, candidate, exc)
            if candidate.key in known:
                continue  # an edit that failed keeps the stored version whole
        if prepared is None:
            continue  # nothing to read; the next poll tries again
        if candidate.key in known:
            stored = await _store_edit(rt, prepared)
            alerts += stored or 0
            continue
        batch.append(_pending(rt, prepared, candidate.key))
        if len(batch) >= STORE_BATCH:
            counts = await _store(rt, source, batch)
            new, alerts, batch = new + counts[0], alerts + counts[1], []
    if batch:
        counts = await _store(rt, source, batch)
        new, alerts = new + counts[0], alerts + counts[1]
    return new, alerts, listing


def was_edited(candidate: Candidate, stored_stamp: datetime | None) -> bool:
    """A known article whose feed entry says it was updated after the stored version."""
    updated = candidate.entry.updated if candidate.entry else None
    return updated is not None and stored_stamp is not None and updated > stored_stamp


async def _store_edit(rt: Runtime, prepared: Prepared) -> int | None:
    record = prepared.record
    updated = await asyncio.to_thread(rt.db().update_article, record, prepared.alerts)
    if updated is None:
        return None
    rt.metrics.articles.labels(record.source, "edited").inc()
    event(log, "article edited", source=record.source, url=record.canonical_url,
          alerts=len(updated.alert_ids))  # fmt: skip
    return len(updated.alert_ids)


def _pending(rt: Runtime, prepared: Prepared, key: str) -> PendingArticle:
    """What the store needs to insert ``prepared``, the link it was read from ``key``.

    ``alias``: the url key of the page's own canonical URL when the link differs; the
    store makes the link another key of the article stored under it, if there is one,
    else keeps it as another key of this one, so later links to that page are known.
    """
    record = prepared.record
    page_key = url_key(canonical_url(record.canonical_url))
    # Only a comparable body (not a paywall notice, not a bot page) joins another story.
    near = rt.near(prepared.signature, record.first_seen) if record.signature else None
    alias = page_key if page_key != key else None
    return PendingArticle(record, prepared.alerts, near=near, alias=alias)


async def _store(rt: Runtime, source: SourceConfig, batch: list[PendingArticle]) -> tuple[int, int]:
    """Insert the batch, each article with its alerts; (new articles, alerts created)."""
    forget = rt.stories.forget if rt.stories is not None else None
    outcomes = await asyncio.to_thread(rt.db().insert_articles, batch, rolled_back=forget)
    new = alerts = 0
    for item, inserted in zip(batch, outcomes, strict=True):
        if isinstance(inserted, Aliased):
            # Another link to a page already stored: now one of its aliases.
            rt.metrics.articles.labels(source.name, "duplicate").inc()
            continue
        if inserted is None:
            continue  # stored meanwhile by another worker
        record = item.article
        new += 1
        rt.metrics.articles.labels(record.source, "new").inc()
        for ident, alert in inserted.created:
            rt.metrics.alerts_created.labels(alert.rule, alert.channel).inc()
            event(
                log, "alert queued", source=record.source, url=record.canonical_url,
                alert=alert.rule, channel=alert.channel, alert_id=ident,
            )  # fmt: skip
        alerts += len(inserted.created)
    return new, alerts
