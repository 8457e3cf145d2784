"""Messages from Jinja2 templates: the subject, text and HTML of an alert or a digest.

The bundled templates (``templates/alert.j2`` and ``templates/digest.j2``) speak French
or English (the channel's ``locale``, else the article's language) and give dates in the
channel's ``timezone``. A channel's ``template:`` replaces them for its alerts, its
``digest_template:`` for its digests, each the same way: one file
whose ``subject``, ``text`` and ``html`` blocks replace the bundled ones (a block left
out keeps the bundled one), or a directory holding ``subject.j2``, ``text.j2`` and
``html.j2`` (each optional). The three parts render from the same data; the HTML part
is autoescaped, so page text can only bring the snippet's ``<mark>`` as markup.

Templates are compiled, and tried on a sample alert, when the channel is built: a broken
template is a config error naming its file and line, never a failed delivery. A compiled
template is kept for the process, keyed by its source text (and file name, for errors), so
rebuilding the channels on every poll compiles nothing new, while an edited template file
is read again and, its text being new, compiled again.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, StrictUndefined, Template, TemplateError, TemplateSyntaxError
from markupsafe import Markup

from monitor.alerts._locale import LABELS, Locale, format_date, pick_locale, story_count
from monitor.alerts._message import AlertMessage, ArticleInfo, StoryInfo
from monitor.alerts._render import group_stories, one_line, safe_snippet_html
from monitor.errors import ConfigError

if TYPE_CHECKING:  # config imports alerts (to check channels), not the other way
    from monitor.config import AppriseChannel, EmailChannel, LogChannel

PARTS = ("subject", "text", "html")
SUBJECT_MAX = 200


def _env(autoescape: bool) -> Environment:
    return Environment(
        autoescape=autoescape,
        undefined=StrictUndefined,  # a misspelt field fails at load, on the sample alert
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


_TEXT, _HTML = _env(False), _env(True)
Renderer = Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True, slots=True)
class Rendered:
    """The three parts of one message."""

    subject: str
    text: str
    html: str


def _block(template: Template, name: str) -> Renderer | None:
    block = template.blocks.get(name)
    if block is None:
        return None

    def render(data: Mapping[str, Any]) -> str:
        return "".join(block(template.new_context(dict(data))))

    return render


def _whole(template: Template) -> Renderer:
    return lambda data: template.render(dict(data))


# Compiling the bundled templates took ~85 ms, paid on every run_once when the channels
# were rebuilt. Keyed by the text itself, an edited file can never be served stale; the
# bound keeps a daemon whose user edits templates all day from holding every version.
@lru_cache(maxsize=64)
def _compile(source: str, where: str, html: bool) -> Template:
    try:
        return (_HTML if html else _TEXT).from_string(source)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"template {where}, line {exc.lineno}: {exc.message}") from None


@cache
def _bundled_source(kind: str) -> str:
    # The package's own files do not change under a running process.
    return files("monitor.alerts").joinpath("templates", f"{kind}.j2").read_text("utf-8")


def _bundled(kind: str) -> dict[str, Renderer]:
    source = _bundled_source(kind)
    out: dict[str, Renderer] = {}
    for part in PARTS:
        block = _block(_compile(source, f"{kind}.j2", part == "html"), part)
        assert block is not None, f"bundled {kind}.j2 lacks its {part} block"
        out[part] = block
    return out


def _override(path: Path) -> dict[str, Renderer]:
    """The parts a channel's ``template:`` replaces."""
    out: dict[str, Renderer] = {}
    if path.is_dir():
        for part in PARTS:
            file = path / f"{part}.j2"
            if file.is_file():
                out[part] = _whole(_compile(_read(file), str(file), part == "html"))
        if not out:
            raise ConfigError(
                f"template directory {path} holds none of subject.j2, text.j2, html.j2"
            )
        return out
    source = _read(path)
    for part in PARTS:
        block = _block(_compile(source, str(path), part == "html"), part)
        if block is not None:
            out[part] = block
    if not out:
        raise ConfigError(f"template {path} has none of the blocks subject, text, html")
    return out


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"template {path} cannot be read: {exc}") from None


def _link(url: str | None) -> str | None:
    # Only web links become clickable: a hostile feed could hand us javascript: URLs.
    if url and urlsplit(url).scheme.lower() in ("http", "https"):
        return url
    return None


def matched_line(terms: Sequence[str], words: Mapping[str, Sequence[str]]) -> str:
    """``Amazon, IA → AI, licenciements → layoffs``: each term, and the article's words
    that matched it where they are not the term itself."""
    shown = []
    for term in terms:
        bare = term.strip('"').casefold()
        other = [w for w in words.get(term, ()) if w.casefold() != bare]
        shown.append(f"{term} → {' / '.join(other)}" if other else term)
    return ", ".join(shown) or "-"


class Templates:
    """A channel's messages: its locale (None: each article's language), time zone and
    optional overrides of the alert and the digest templates."""

    def __init__(
        self,
        locale: str | None = None,
        timezone: str = "UTC",
        template: str | None = None,
        digest_template: str | None = None,
    ) -> None:
        if locale not in (None, "fr", "en"):
            raise ConfigError(f"locale must be fr or en, not {locale!r}")
        try:
            self._zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"unknown time zone {timezone!r}") from None
        self._locale = locale
        self._alert = _bundled("alert")
        self._digest = _bundled("digest")
        if template is not None:
            self._alert |= _override(Path(template))
            try:
                self.alert(sample_message())
            except (TemplateError, TypeError, ValueError) as exc:
                raise ConfigError(f"template {template} fails on a sample alert: {exc}") from None
        if digest_template is not None:
            self._digest |= _override(Path(digest_template))
            try:
                self.digest("sample-digest", [sample_message()])
            except (TemplateError, TypeError, ValueError) as exc:
                raise ConfigError(
                    f"digest_template {digest_template} fails on a sample digest: {exc}"
                ) from None

    @classmethod
    def from_channel(cls, channel: LogChannel | EmailChannel | AppriseChannel) -> Templates:
        """The templates a channel's settings name (``locale``, ``timezone``,
        ``template``, ``digest_template``)."""
        return cls(channel.locale, channel.timezone, channel.template, channel.digest_template)

    def _article(self, article: ArticleInfo, locale: Locale) -> dict[str, Any]:
        meta = [article.source, format_date(article.published, locale, self._zone)]
        if article.language:
            meta.append(article.language)
        snippet_html = (
            safe_snippet_html(article.snippet_html)
            if article.snippet_html.strip()
            else html.escape(article.snippet, quote=False)  # rows stored before highlighting
        )
        return {
            "title": one_line(article.title) or article.url,
            "url": article.url,
            "link": _link(article.url),
            "source": article.source,
            "published": format_date(article.published, locale, self._zone),
            "published_iso": article.published.isoformat() if article.published else None,
            "language": article.language,
            "meta": " · ".join(p for p in meta if p),
            # A health notice's text is its own lines; a digest lists it on one line.
            "snippet": article.snippet.strip(),
            "snippet_line": one_line(article.snippet),
            "snippet_html": Markup(snippet_html),
        }

    @staticmethod
    def _others(
        outlets: Sequence[str], links: Mapping[str, str], source: str
    ) -> list[dict[str, Any]]:
        return [
            {"source": o, "url": links.get(o), "link": _link(links.get(o))}
            for o in outlets
            if o != source
        ]

    def alert_data(self, message: AlertMessage) -> dict[str, Any]:
        """What every part of an alert's message is rendered from."""
        locale = pick_locale(self._locale, message.article.language)
        story = message.story or StoryInfo(0, ())
        return {
            "t": LABELS[locale],
            "locale": locale,
            "id": message.id,
            "alert": message.alert,
            "query": message.query,
            "matched": [
                {"term": term, "words": list(message.words.get(term, ()))}
                for term in message.matched
            ],
            "matched_line": matched_line(message.matched, message.words),
            "article": self._article(message.article, locale),
            "others": self._others(story.outlets, story.links, message.article.source),
            "created": format_date(message.created, locale, self._zone),
        }

    def alert(self, message: AlertMessage) -> Rendered:
        """Subject, text and HTML of one alert."""
        return _finish(self._alert, self.alert_data(message))

    def digest_data(self, name: str, messages: Sequence[AlertMessage]) -> dict[str, Any]:
        """What every part of a digest is rendered from: stories grouped by the alert
        that first caught them, each story once, numbered in the order they came."""
        languages = {m.article.language for m in messages}
        locale = pick_locale(self._locale, languages.pop() if len(languages) == 1 else None)
        groups: dict[str, list[dict[str, Any]]] = {}
        stories = group_stories(messages)
        for story in stories:  # in the order they arrived, under their first alert
            first = story.first
            groups.setdefault(story.alerts[0], []).append(
                {
                    "article": self._article(first.article, locale),
                    "alerts": story.alerts,
                    "also_alerts": story.alerts[1:],
                    "matched_line": matched_line(story.matched, first.words),
                    "others": self._others(story.outlets, story.links, first.article.source),
                }
            )
        number = 0
        for items in groups.values():
            for item in items:
                number += 1
                item["number"] = number
        return {
            "t": LABELS[locale],
            "locale": locale,
            "name": name,
            "count": len(stories),
            "title": story_count(locale, one_line(name), len(stories)),
            "groups": [{"alert": alert, "stories": items} for alert, items in groups.items()],
        }

    def digest(self, name: str, messages: Sequence[AlertMessage]) -> Rendered:
        """Subject, text and HTML of one digest."""
        return _finish(self._digest, self.digest_data(name, messages))


def _finish(parts: Mapping[str, Renderer], data: Mapping[str, Any]) -> Rendered:
    # A subject is one line that never starts with whitespace, whatever the template
    # or the title holds (a header that starts with a space reads as a folded line).
    subject = one_line(parts["subject"](data))
    if len(subject) > SUBJECT_MAX:
        subject = subject[: SUBJECT_MAX - 1].rstrip() + "…"
    text = "\n".join(line.rstrip() for line in parts["text"](data).strip().splitlines())
    return Rendered(subject, text + "\n", parts["html"](data).strip() + "\n")


def sample_message() -> AlertMessage:
    """The alert a channel's template is tried on when it loads."""
    article = ArticleInfo(
        url="https://www.example.org/article",
        title="Sample title",
        source="sample-source",
        published=datetime(2025, 3, 14, 9, 30, tzinfo=UTC),
        language="en",
        snippet="… a sample snippet …",
        snippet_html="… a <mark>sample</mark> snippet …",
    )
    return AlertMessage(
        id="msg_sample",
        alert="sample-alert",
        query="sample",
        matched=("sample",),
        article=article,
        story=StoryInfo(
            1, ("sample-source", "other-source"), {"other-source": "https://o.example/"}
        ),
        created=datetime(2025, 3, 14, 9, 31, tzinfo=UTC),
        words={"sample": ("sample",)},
    )
