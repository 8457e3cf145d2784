"""Pieces of the human-readable alerts that the templates (_templates) build on.

Pure functions; nothing here does I/O. Article text comes from the network, so the
snippet's HTML is rebuilt keeping only its ``<mark>`` highlighting as markup. A channel's
``subject:`` (a ``str.format`` line, older than the templates) is checked and filled here.
"""

from __future__ import annotations

import html
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser

from monitor.alerts._message import AlertMessage
from monitor.errors import ConfigError

SUBJECT_FIELDS = frozenset({"alert", "title", "source", "query", "matched", "url"})
_SUBJECT_MAX = 200
_MARK_OPEN = '<mark style="background:#ffe866;padding:0 2px">'


def one_line(text: str) -> str:
    """``text`` on one line, whitespace runs made one space, none at either end."""
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
    subject = one_line(template.format_map({k: one_line(v) for k, v in values.items()}))
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


@dataclass(slots=True)
class Story:
    """The alerts of one digest that are about the same story (or the same article)."""

    first: AlertMessage
    alerts: list[str] = field(default_factory=list)
    matched: list[str] = field(default_factory=list)
    outlets: list[str] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)  # outlet -> its copy's URL


def group_stories(messages: Sequence[AlertMessage]) -> list[Story]:
    """Fold a digest's alerts into stories, in the order each story first appeared."""
    stories: dict[tuple[str, str], Story] = {}
    for message in messages:
        key = ("story", str(message.story.id)) if message.story else ("url", message.article.url)
        story = stories.setdefault(key, Story(first=message))
        outlets = [*(message.story.outlets if message.story else ()), message.article.source]
        if message.story:
            story.links.update(
                (k, v) for k, v in message.story.links.items() if k not in story.links
            )
        story.links.setdefault(message.article.source, message.article.url)
        for target, items in (
            (story.alerts, [message.alert]),
            (story.matched, list(message.matched)),
            (story.outlets, outlets),
        ):
            target.extend(item for item in items if item and item not in target)
    return list(stories.values())
