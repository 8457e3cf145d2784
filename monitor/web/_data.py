"""What each page shows, as JSON-ready data: the HTML templates and ``/api/`` read the
same dictionaries, so the two never disagree.

Everything here is synchronous (the store is); the app runs it in a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from monitor.config import Config, parse_duration
from monitor.errors import QueryError
from monitor.pipeline import match_stored, stored_document, utcnow
from monitor.rules import Match, parse_query
from monitor.store import (
    Delivery,
    Store,
    StoredArticle,
    StorySummary,
    articles_per_day,
    channel_statuses,
    list_deliveries,
    list_stories,
    source_statuses,
    stories_by_id,
    story_detail,
)
from monitor.text import redact_url

PER_PAGE = 20
DAYS = 7  # the sources page's articles-per-day window
# A search reads every stored article; past this many matches it stops and says so.
MAX_RESULTS = 1000


class BadRequest(Exception):
    """A parameter the page cannot use (a bad query, page or duration): answered 400."""


def page_of(value: str) -> int:
    if not value:
        return 1
    if not value.isdigit() or not 0 < int(value) < 1_000_000:
        raise BadRequest("page must be a positive number")
    return int(value)


def paging(page: int, total: int) -> dict[str, int]:
    pages = max(1, -(-total // PER_PAGE))
    return {"page": page, "pages": pages, "total": total, "per_page": PER_PAGE}


def shown_url(url: str) -> str:
    """A source's URL as pages show it: without a password or a query string, either of
    which may carry an API key."""
    return urlsplit(redact_url(url))._replace(query="", fragment="").geturl()


def sources(config: Config, store: Store) -> list[dict[str, Any]]:
    now = utcnow()
    configured = {s.name: s for s in config.sources}
    per_day = articles_per_day(store, now.date(), DAYS)
    out = []
    for s in source_statuses(store, now):
        if s.name not in configured:
            continue  # removed from the config: its history stays, its row goes
        state = "disabled" if not s.enabled else "ok" if s.ok else "failing"
        out.append(
            {
                "name": s.name, "url": shown_url(s.url), "kind": configured[s.name].kind,
                "state": state, "error_count": s.error_count,
                "last_poll": s.last_poll, "last_success": s.last_success,
                "next_check": s.next_check,
                "last_error": None if s.ok else s.last_error,
                "last_error_kind": None if s.ok else s.last_error_kind,
                "articles_seen": s.articles_seen, "articles_last_day": s.articles_last_day,
                "articles_per_day": per_day.get(s.name, [0] * DAYS),
            }
        )  # fmt: skip
    return out


def channels(config: Config, store: Store) -> list[dict[str, Any]]:
    # Names, states and counts only: a channel's settings (URLs, addresses, secrets)
    # never reach a page.
    return [
        {
            "name": c.name,
            "type": _channel_type(config, c.name),
            "state": "disabled" if c.disabled else "ok",
            "pending": c.counts.get("pending", 0) + c.counts.get("digest", 0),
            "sent": c.counts.get("sent", 0),
            "failed": c.counts.get("failed", 0),
            "dead": c.counts.get("dead", 0),
            "last_success": c.last_success,
            "last_error": c.disabled_reason or c.last_error,
        }
        for c in channel_statuses(store, list(config.channels))
    ]


def _channel_type(config: Config, name: str) -> str | None:
    channel = config.channels.get(name)
    return channel.type if channel is not None else None


def overview(config: Config, store: Store) -> dict[str, Any]:
    return {
        "sources": sources(config, store),
        "channels": channels(config, store),
        "alerts": [delivery(d) for d in list_deliveries(store, limit=10)],
    }


def alerts(store: Store, page: int, status: str) -> dict[str, Any]:
    if status and status not in ("pending", "digest", "sent", "failed", "dead"):
        raise BadRequest("status must be pending, digest, sent, failed or dead")
    rows = list_deliveries(store, PER_PAGE + 1, (page - 1) * PER_PAGE, status or None)
    return {
        "items": [delivery(d) for d in rows[:PER_PAGE]],
        "page": page,
        "next": page + 1 if len(rows) > PER_PAGE else None,
        "status": status or None,
    }


def delivery(d: Delivery) -> dict[str, Any]:
    return asdict(d)


def story_summary(s: StorySummary) -> dict[str, Any]:
    return asdict(s)


def stories(store: Store, page: int) -> dict[str, Any]:
    items, total = list_stories(store, PER_PAGE, (page - 1) * PER_PAGE)
    return {"items": [story_summary(s) for s in items], **paging(page, total)}


def story(config: Config, store: Store, story_id: int, query: str) -> dict[str, Any] | None:
    """One story: its articles with the terms of the alerts it fired (and of ``query``,
    when the reader came from a search) marked, and each alert's deliveries."""
    detail = story_detail(store, story_id)
    if detail is None:
        return None
    texts = [a.query for a in config.alerts if a.name in detail.story.rules]
    marker = Marker(config, [*texts, query] if query else texts)
    articles = []
    for art in detail.articles:
        title_marks, body_marks = marker.spans(art)
        articles.append(
            {
                **article(art),
                "body": art.body,
                "title_highlights": title_marks,
                "body_highlights": body_marks,
            }
        )
    return {
        "story": story_summary(detail.story),
        "articles": articles,
        "deliveries": [delivery(d) for d in detail.deliveries],
    }


class Marker:
    """Marks what some queries match in a whole article (title and body), read as the
    poll reads it: with its source's tags."""

    def __init__(self, config: Config, queries: Iterable[str]) -> None:
        self.queries = []
        for text in queries:
            try:
                self.queries.append(parse_query(text, config.synonyms))
            except QueryError:
                continue  # a bad query only loses its marks here
        self.tags = {s.name: s.tags for s in config.sources}

    def spans(self, art: StoredArticle) -> tuple[list[list[int]], list[list[int]]]:
        doc = stored_document(art, self.tags)
        title: list[tuple[int, int]] = []
        body: list[tuple[int, int]] = []
        for q in self.queries:
            found = q.highlights(doc)
            if found:
                title += found[0]
                body += found[1]
        return merge(title), merge(body)


def article(art: StoredArticle) -> dict[str, Any]:
    return {
        "id": art.id, "url": art.url, "source": art.source, "title": art.title,
        "language": art.language, "published": art.published, "first_seen": art.first_seen,
        "story_id": art.story_id,
    }  # fmt: skip


def search(config: Config, store: Store, query: str, since: str, page: int) -> dict[str, Any]:
    """Stories the query matches, newest first: one result per story (its newest
    matching article, with its snippet), so a story many outlets carried shows once."""
    result: dict[str, Any] = {"query": query, "since": since or None, "items": [],
                              "truncated": False, **paging(page, 0)}  # fmt: skip
    if not query.strip():
        return result
    found = _matches(config, store, query, _since(since), result)
    shown = found[(page - 1) * PER_PAGE : page * PER_PAGE]
    summaries = stories_by_id(store, [a.story_id for a, _, _ in shown if a.story_id is not None])
    marker = Marker(config, [query])
    for art, match, count in shown:
        s = summaries.get(art.story_id) if art.story_id is not None else None
        result["items"].append(
            {
                **article(art),
                "title_highlights": marker.spans(art)[0],
                "snippet": match.snippet,
                "highlights": [list(h) for h in match.highlights],
                "terms": list(match.terms),
                "matching_articles": count,
                "outlets": list(s.outlets) if s else [art.source],
                "rules": list(s.rules) if s else [],
            }
        )
    result.update(paging(page, len(found)))
    return result


def _matches(
    config: Config, store: Store, query: str, start: datetime | None, result: dict[str, Any]
) -> list[tuple[StoredArticle, Match, int]]:
    """(newest matching article, its match, matching articles) per story, newest first."""
    by_story: dict[int, tuple[StoredArticle, Match, int]] = {}
    try:
        for art, match in match_stored(config, store, query, start):
            if match is None:
                continue
            key = art.story_id if art.story_id is not None else -art.id
            count = by_story[key][2] + 1 if key in by_story else 1
            by_story.pop(key, None)  # re-insert: dicts keep the newest last
            by_story[key] = (art, match, count)
            if len(by_story) >= MAX_RESULTS:
                result["truncated"] = True
                break
    except QueryError as exc:
        raise BadRequest(f"invalid query: {exc}") from None
    return list(reversed(by_story.values()))


def _since(value: str) -> datetime | None:
    if not value:
        return None
    try:
        span: timedelta | None = parse_duration(value)
        return utcnow() - span if span else None
    except (ValueError, OverflowError) as exc:  # a bad duration, or one past the calendar
        raise BadRequest(f"since: {exc}") from None


def merge(spans: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Sorted spans, overlapping ones joined (several alerts may mark the same word)."""
    out: list[list[int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return out


def segments(text: str, spans: Sequence[Sequence[int]]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, marked) runs, for a template to escape and wrap."""
    out: list[tuple[str, bool]] = []
    at = 0
    for start, end in spans:
        if start < at or end > len(text):
            continue
        if start > at:
            out.append((text[at:start], False))
        out.append((text[start:end], True))
        at = end
    if at < len(text):
        out.append((text[at:], False))
    return out


def paragraphs(text: str, spans: Sequence[Sequence[int]]) -> list[list[tuple[str, bool]]]:
    """The body's lines as paragraphs, each cut into marked and plain runs."""
    out = []
    at = 0
    for line in text.split("\n"):
        end = at + len(line)
        if line.strip():
            inside = [(s - at, e - at) for s, e in spans if at <= s and e <= end]
            out.append(segments(line, inside))
        at = end + 1
    return out
