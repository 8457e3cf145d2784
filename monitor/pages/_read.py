"""The work a child process does for one page, also run in a thread when there is none."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.dedupe import Signature, fingerprint_and_signature
from monitor.extract import Article, extract_article
from monitor.rules import article_keys

# Body shorter than this (characters) is "nothing usable": the feed's own text is read instead.
MIN_USABLE_BODY = 200


@dataclass(frozen=True, slots=True)
class PageJob:
    """One fetched page and what the source and the feed entry say of it (picklable)."""

    content: bytes
    url: str
    fetched_at: datetime
    body_selector: str | None = None
    charset: str | None = None
    languages: tuple[str, ...] | None = None
    feed_published: datetime | None = None
    timezone: str | None = None  # an IANA name: the source's ``timezone``
    # The feed entry's own title and text, read when the page gives too little.
    entry_title: str = ""
    entry_text: str = ""
    entry_language: str | None = None
    source_language: str | None = None


@dataclass(frozen=True, slots=True)
class ArticleText:
    """What the rules, the store and dedupe read of one article."""

    title: str
    body: str
    language: str | None
    fingerprint: str
    signature: Signature
    # The body can tell two stories apart: a paywall notice or a captcha page is the
    # same on every article of a site and must never make two articles one story.
    comparable: bool
    search_keys: str
    title_keys: str


def read_page(job: PageJob) -> tuple[Article, ArticleText]:
    """Extract ``job``'s page, then its text as ``article_text`` reads it."""
    article = extract_article(
        job.content,
        job.url,
        body_selector=job.body_selector,
        charset=job.charset,
        languages=list(job.languages) if job.languages else None,
        feed_published=job.feed_published,
        timezone=ZoneInfo(job.timezone) if job.timezone else None,
        fetched_at=job.fetched_at,
    )
    text = article_text(
        article, job.entry_title, job.entry_text, job.entry_language, job.source_language
    )
    return article, text


def article_text(
    article: Article | None,
    entry_title: str,
    entry_text: str,
    entry_language: str | None,
    source_language: str | None,
) -> ArticleText:
    """The title and body a rule reads (the page's, else the feed entry's own text), the
    language they are in and the keys derived from them."""
    title = (article.title if article else None) or entry_title or ""
    body = article.text if article else ""
    if len(body) < MIN_USABLE_BODY and len(entry_text) > len(body):
        body = entry_text
    language = (article.language if article else None) or entry_language or source_language
    fingerprint, sig = fingerprint_and_signature(body)
    quality_ok = article is None or article.quality == "ok"
    return ArticleText(
        title=title,
        body=body,
        language=language,
        fingerprint=fingerprint,
        signature=sig,
        comparable=quality_ok and len(body) >= MIN_USABLE_BODY,
        search_keys=article_keys(title, body, language),
        title_keys=article_keys(title, "", language),
    )
