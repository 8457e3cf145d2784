"""Human-readable alerts: the text and HTML an email or the console shows.

Notifiers call these pure functions; nothing here does I/O. Article text comes from the
network, so every field is escaped for HTML and only the ``<mark>`` highlighting of the
snippet survives as markup.
"""

from __future__ import annotations

import html
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import urlsplit

from monitor.alerts._message import AlertMessage
from monitor.errors import ConfigError

SUBJECT_FIELDS = frozenset({"alert", "title", "source", "query", "matched", "url"})
_SUBJECT_MAX = 200
_MARK_OPEN = '<mark style="background:#ffe866;padding:0 2px">'


def format_date(value: datetime | None) -> str:
    """A date every reader parses the same way: UTC, minutes, no locale."""
    if value is None:
        return "date unknown"
    if value.tzinfo is None:
        # Naive dates reaching this point were stored as UTC by the store.
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _one_line(text: str) -> str:
    # Feeds put newlines and tabs in titles; a header must not carry them (header injection).
    return " ".join(text.split())


def check_subject_template(template: str) -> None:
    """Raise :class:`ConfigError` unless ``template`` uses only the known fields."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ConfigError(f"subject template {template!r} is malformed: {exc}") from None
    unknown = names - SUBJECT_FIELDS
    if unknown or "" in names:
        allowed = ", ".join(sorted(SUBJECT_FIELDS))
        raise ConfigError(
            f"subject template {template!r} uses unknown fields {sorted(unknown) or ['{}']}; "
            f"allowed: {allowed}"
        )
    try:
        template.format_map(dict.fromkeys(SUBJECT_FIELDS, ""))
    except (ValueError, KeyError, IndexError) as exc:
        raise ConfigError(f"subject template {template!r} is malformed: {exc}") from None


def render_subject(template: str, message: AlertMessage) -> str:
    """The subject line of one alert, on one line and of bounded length."""
    article = message.article
    values = {
        "alert": message.alert,
        "title": article.title or article.url,
        "source": article.source,
        "query": message.query,
        "matched": ", ".join(message.matched),
        "url": article.url,
    }
    subject = _one_line(template.format_map({k: _one_line(v) for k, v in values.items()}))
    if len(subject) > _SUBJECT_MAX:
        subject = subject[: _SUBJECT_MAX - 1].rstrip() + "…"
    return subject


class _MarkOnly(HTMLParser):
    """Rebuilds a snippet keeping its text and ``<mark>`` tags, dropping every other tag."""

    _DROP_CONTENT = frozenset({"script", "style", "template", "iframe", "object"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open_marks = 0
        self.dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._DROP_CONTENT:
            self.dropping += 1
        elif tag == "mark" and not self.dropping:
            self.open_marks += 1
            self.out.append(_MARK_OPEN)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._DROP_CONTENT:
            self.dropping = max(0, self.dropping - 1)
        elif tag == "mark" and self.open_marks and not self.dropping:
            self.open_marks -= 1
            self.out.append("</mark>")

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.out.append(html.escape(data, quote=False))


def safe_snippet_html(snippet_html: str) -> str:
    """``snippet_html`` with only its ``<mark>`` highlighting kept as markup."""
    parser = _MarkOnly()
    parser.feed(snippet_html)
    parser.close()
    return "".join(parser.out) + "</mark>" * parser.open_marks


def _snippet_html(message: AlertMessage) -> str:
    # Outbox rows written before highlighting existed carry only the plain snippet.
    article = message.article
    if article.snippet_html.strip():
        return safe_snippet_html(article.snippet_html)
    return html.escape(article.snippet, quote=False)


def _link(url: str, label: str) -> str:
    # Only web links become clickable: a hostile feed could hand us javascript: or data: URLs.
    if urlsplit(url).scheme.lower() in ("http", "https"):
        return f'<a href="{html.escape(url, quote=True)}">{html.escape(label)}</a>'
    return html.escape(label)


@dataclass(slots=True)
class Story:
    """The alerts of one digest that are about the same story (or the same article)."""

    first: AlertMessage
    alerts: list[str] = field(default_factory=list)
    matched: list[str] = field(default_factory=list)
    outlets: list[str] = field(default_factory=list)


def group_stories(messages: Sequence[AlertMessage]) -> list[Story]:
    """Fold a digest's alerts into stories, in the order each story first appeared."""
    stories: dict[tuple[str, str], Story] = {}
    for message in messages:
        key = ("story", str(message.story.id)) if message.story else ("url", message.article.url)
        story = stories.setdefault(key, Story(first=message))
        outlets = [*(message.story.outlets if message.story else ()), message.article.source]
        for target, items in (
            (story.alerts, [message.alert]),
            (story.matched, list(message.matched)),
            (story.outlets, outlets),
        ):
            target.extend(item for item in items if item and item not in target)
    return list(stories.values())


def _meta_line(message: AlertMessage) -> str:
    article = message.article
    parts = [article.source, format_date(article.published)]
    if article.language:
        parts.append(article.language)
    return " · ".join(p for p in parts if p)


def _other_outlets(outlets: Sequence[str], source: str) -> list[str]:
    return [o for o in outlets if o != source]


def render_text(message: AlertMessage) -> str:
    """The plain-text body of one alert."""
    article = message.article
    lines = [
        f'Alert "{message.alert}" matched: {", ".join(message.matched) or "-"}',
        # A notice about a source's health has no query: no empty "Query:" line.
        *([f"Query: {message.query}"] if message.query else []),
        "",
        _one_line(article.title) or article.url,
        _meta_line(message),
        article.url,
        "",
        article.snippet.strip(),
    ]
    others = _other_outlets(message.story.outlets if message.story else (), article.source)
    if others:
        lines += ["", f"Also reported by: {', '.join(others)}"]
    return "\n".join(lines).rstrip() + "\n"


def _html_page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n"
        '<body style="font-family:sans-serif;line-height:1.4;max-width:40em">\n'
        f"{body}\n</body></html>\n"
    )


def _html_article(message: AlertMessage, outlets: Sequence[str], heading: str) -> str:
    article = message.article
    title = _one_line(article.title) or article.url
    others = _other_outlets(outlets, article.source)
    parts = [
        f'<{heading} style="margin-bottom:0.2em">{_link(article.url, title)}</{heading}>',
        f'<p style="color:#555;margin-top:0">{html.escape(_meta_line(message))}</p>',
        f"<blockquote>{_snippet_html(message)}</blockquote>",
        f"<p>{_link(article.url, article.url)}</p>",
    ]
    if others:
        parts.append(f"<p>Also reported by: {html.escape(', '.join(others))}</p>")
    return "\n".join(parts)


def render_html(message: AlertMessage) -> str:
    """The HTML body of one alert: title, source, date, link and the highlighted snippet."""
    matched = ", ".join(message.matched) or "-"
    query = f" (query: <code>{html.escape(message.query)}</code>)" if message.query else ""
    intro = (
        f"<p>Alert <strong>{html.escape(message.alert)}</strong> matched "
        f"<em>{html.escape(matched)}</em>{query}</p>"
    )
    outlets = message.story.outlets if message.story else ()
    return _html_page(message.article.title, intro + "\n" + _html_article(message, outlets, "h2"))


def digest_title(name: str, count: int) -> str:
    """The headline (and email subject) of a digest of ``count`` stories."""
    noun = "story" if count == 1 else "stories"
    return f"[{_one_line(name)}] {count} new {noun}"


def render_digest_text(name: str, messages: Sequence[AlertMessage]) -> str:
    """The plain-text body of a digest: every story, numbered."""
    stories = group_stories(messages)
    lines = [digest_title(name, len(stories)), ""]
    for number, story in enumerate(stories, 1):
        article = story.first.article
        lines += [
            f"{number}. {_one_line(article.title) or article.url}",
            f"   {_meta_line(story.first)}",
            f"   {article.url}",
            f"   Alerts: {', '.join(story.alerts)} (matched: {', '.join(story.matched) or '-'})",
        ]
        others = _other_outlets(story.outlets, article.source)
        if others:
            lines.append(f"   Also reported by: {', '.join(others)}")
        if article.snippet.strip():
            lines.append(f"   {_one_line(article.snippet)}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_digest_html(name: str, messages: Sequence[AlertMessage]) -> str:
    """The HTML body of a digest: every story with its highlighted snippet."""
    stories = group_stories(messages)
    title = digest_title(name, len(stories))
    items = []
    for story in stories:
        alerts = html.escape(", ".join(story.alerts))
        matched = html.escape(", ".join(story.matched) or "-")
        items.append(
            "<li>"
            + _html_article(story.first, story.outlets, "h3")
            + f'<p style="color:#555">Alerts: {alerts} (matched: {matched})</p></li>'
        )
    body = f"<h1>{html.escape(title)}</h1>\n<ol>\n" + "\n".join(items) + "\n</ol>"
    return _html_page(title, body)
