"""One article's way in: fetch, extract, match, get ready to store.

Shared by the poll (which stores what it prepares) and ``monitor fetch`` (a dry run,
which only shows it).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import ParamSpec, TypeVar

from monitor.config import SourceConfig
from monitor.dedupe import Signature, pick_canonical, signature
from monitor.errors import ExtractError, FetchError, MonitorError
from monitor.extract import Article
from monitor.feeds import FeedEntry
from monitor.observe import event
from monitor.pages import ArticleText, PageJob, article_text
from monitor.pipeline._filters import alerts_for
from monitor.pipeline._listing import Candidate, within
from monitor.pipeline._render import page_of
from monitor.pipeline._runtime import Runtime
from monitor.rules import Document, Match, article_keys
from monitor.store import NewAlert, NewArticle
from monitor.text import host_of, redact_url, site_of, without_userinfo

P = ParamSpec("P")
T = TypeVar("T")

log = logging.getLogger("monitor.pipeline.article")


@dataclass(frozen=True)
class Prepared:
    """One new article, extracted and matched, ready to store (or to show, in a dry run)."""

    record: NewArticle
    alerts: list[NewAlert]
    matches: dict[str, Match]
    signature: Signature


async def prepare(rt: Runtime, source: SourceConfig, candidate: Candidate) -> Prepared | None:
    """Fetch and read one article and match it against the rules; None when there is
    nothing to read (the page failed and the feed entry has no text of its own).

    The page is read in a page worker process (``extract_processes``), or in a thread,
    and matched in a thread, each within ``rt.stage_budget`` seconds: the event loop
    (``/healthz``, the other polls) never waits on them. A page the reader gave up on
    (``too_slow``, ``internal``) is kept with the feed's text and that kind as its
    quality, so it is not fetched again at every poll.
    """
    entry = candidate.entry
    fetched = await _fetch_article(rt, source, candidate)
    if isinstance(fetched, str):
        page, text, final_url, failure = None, None, candidate.url, fetched
    elif fetched is None:
        if entry is None or not (entry.content or entry.summary):
            return None
        page, text, final_url, failure = None, None, candidate.url, None
    else:
        (page, text), final_url, failure = fetched[0], fetched[1], None
    return await off_loop(rt, _prepared, rt, source, candidate, page, text, final_url, failure)


async def off_loop(rt: Runtime, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``func`` in a worker thread within the runtime's stage budget."""
    return await within(rt.stage_budget, func, *args, **kwargs)


def _prepared(
    rt: Runtime,
    source: SourceConfig,
    candidate: Candidate,
    page: Article | None,
    text: ArticleText | None,
    final_url: str,
    failure: str | None,
) -> Prepared:
    entry = candidate.entry
    if text is None:  # no page: the feed entry's own text
        text = article_text(None, *_entry_side(source, entry))
    title, body, language = text.title, text.body, text.language
    now = rt.clock()
    published = (page.published if page else None) or (entry.published if entry else None)
    # Alerts and the store carry the clean URL: no tracking parameters, no AMP variant.
    url = pick_canonical(final_url, page.canonical_url if page else None)
    doc = Document(
        title=title, text=body, language=language, url=url, site=site_of(host_of(url)),
        source=source.name, tags=source.tags,
    )  # fmt: skip
    # Explained now: alerts_for writes every match's snippet into its alert.
    matched = rt.rules.index.match(doc, explained=True)
    matches, alerts = alerts_for(rt.config, rt.rules.alerts, matched, doc, published or now, now)
    authors = page.authors if page and page.authors else entry.authors if entry else ()
    record = NewArticle(
        url_key=candidate.key,
        url=without_userinfo(candidate.url),
        canonical_url=url,
        source=source.name,
        title=title,
        body=body,
        first_seen=now,
        guid=entry.guid if entry else None,
        summary=entry.summary if entry else "",
        authors=authors,
        language=language,
        published=published,
        updated=(entry.updated or entry.published) if entry else None,
        quality=failure or (page.quality if page else "feed"),
        # A paywall notice or a captcha page is the same on every article of a site:
        # such bodies never make two articles one story.
        fingerprint=text.fingerprint if text.comparable else None,
        signature=text.signature.to_bytes() if text.signature.usable and text.comparable else None,
        search_keys=text.search_keys,
        title_keys=text.title_keys,
    )
    return Prepared(record, alerts, matches, text.signature)


def _entry_side(
    source: SourceConfig, entry: FeedEntry | None
) -> tuple[str, str, str | None, str | None]:
    """What the feed entry and the source say of an article: its title, its own text,
    its language, the source's language."""
    if entry is None:
        return "", "", None, source.language
    return entry.title or "", entry.content or entry.summary, entry.language, source.language


def given_up(rt: Runtime, source: SourceConfig, candidate: Candidate, exc: Exception) -> Prepared:
    """The last resort for an article a stage failed on unexpectedly (``internal``) or
    that overran its budget (``too_slow``): recorded with that kind as its quality and
    no alerts, counted, its traceback in the debug log; the poll goes on."""
    kind = exc.kind if isinstance(exc, MonitorError) else "internal"
    _count_failure(rt, source, candidate.url, kind, exc)
    entry = candidate.entry
    title = (entry.title if entry else "") or ""
    record = NewArticle(
        url_key=candidate.key,
        url=without_userinfo(candidate.url),
        canonical_url=without_userinfo(candidate.url),
        source=source.name,
        title=title,
        body="",
        first_seen=rt.clock(),
        guid=entry.guid if entry else None,
        summary=entry.summary if entry else "",
        published=entry.published if entry else None,
        updated=(entry.updated or entry.published) if entry else None,
        quality=kind,
        title_keys=article_keys(title, "", source.language),
        search_keys=article_keys(title, "", source.language),
    )
    return Prepared(record, [], {}, signature(""))


def _count_failure(rt: Runtime, source: SourceConfig, url: str, kind: str, exc: Exception) -> None:
    rt.metrics.article_errors.labels(kind).inc()
    event(
        log, "article given up", logging.WARNING if kind == "too_slow" else logging.ERROR,
        source=source.name, url=redact_url(url), kind=kind, error=f"{type(exc).__name__}: {exc}",
    )  # fmt: skip
    if log.isEnabledFor(logging.DEBUG):
        trace = "".join(traceback.format_exception(exc))
        event(log, "article traceback", logging.DEBUG, source=source.name, traceback=trace)


async def _fetch_article(
    rt: Runtime, source: SourceConfig, candidate: Candidate
) -> tuple[tuple[Article, ArticleText], str] | str | None:
    """The page read (``read_page``) and its final URL; None when the page could not be had; the
    kind (``too_slow``, ``internal``) when the extractor gave up on it."""
    entry = candidate.entry
    try:
        page, rendered = await page_of(rt, source, candidate.url)
    except FetchError as exc:
        rt.metrics.fetch_errors.labels(exc.kind).inc()
        event(
            log, "article fetch failed", logging.WARNING,
            source=source.name, url=candidate.url, kind=exc.kind, error=str(exc),
        )  # fmt: skip
        return None
    rt.metrics.fetch_seconds.observe(page.elapsed)
    started = time.perf_counter()
    title, entry_text, entry_language, source_language = _entry_side(source, entry)
    job = PageJob(
        content=page.content,
        url=page.final_url,
        fetched_at=rt.clock(),
        body_selector=source.body_selector,
        charset=page.charset,
        languages=(source.language,) if source.language else None,
        feed_published=entry.published if entry else None,
        timezone=source.timezone,
        entry_title=title,
        entry_text=entry_text,
        entry_language=entry_language,
        source_language=source_language,
    )
    try:
        article, text = await rt.read_page(job)
        if rendered and article.body_source == "dom":
            article = replace(article, body_source="browser")
    except ExtractError as exc:  # the feed's own text is read instead
        event(log, "extraction failed", logging.WARNING, source=source.name, url=page.final_url,
              error=str(exc))  # fmt: skip
        return None
    except Exception as exc:  # too slow, or a bug: this page only
        kind = exc.kind if isinstance(exc, MonitorError) else "internal"
        _count_failure(rt, source, page.final_url, kind, exc)
        return kind
    rt.metrics.extract_seconds.observe(time.perf_counter() - started)
    return (article, text), page.final_url
