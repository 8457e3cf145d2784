"""Page metadata: title, authors, dates, canonical URL, site name, image, declared language.

Read from the parsed page before the body extractor strips scripts and boilerplate.
Sources are tried from the most to the least reliable: JSON-LD, then OpenGraph and
``article:`` meta tags, then microdata and ``<time>``, then text a reader would see.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from monitor.extract._bounds import join_url
from monitor.extract._dates import (
    DateContext,
    parse_date,
    parse_prose_date,
    parse_published_phrase,
)
from monitor.extract._jsonld import JsonLd, read_jsonld
from monitor.text import on_site, site_of

_PUBLISHED_KEYS = (
    "article:published_time", "og:article:published_time", "datepublished",
    "publish-date", "publishdate", "pubdate", "date", "dc.date", "dc.date.issued",
    "dcterms.created", "sailthru.date", "parsely-pub-date", "article.published",
)  # fmt: skip
_MODIFIED_KEYS = ("article:modified_time", "og:updated_time", "datemodified", "dcterms.modified")
_AUTHOR_KEYS = ("author", "article:author", "dc.creator", "parsely-author", "sailthru.author")
_BYLINE = "[rel=author], [itemprop=author] [itemprop=name], [itemprop=author], .byline a, .author"
# _BYLINE less ".byline a", for pages without a .byline: that part costs Lexbor a climb
# from every link to the root, more than the walk that shows no .byline is there.
_NO_BYLINE = "[rel=author], [itemprop=author] [itemprop=name], [itemprop=author], .author"
_PREFIX = re.compile(r"^(?:by|par|de|written by|écrit par|publié par)\s+", re.IGNORECASE)
_SPLIT_AUTHORS = re.compile(r"\s*(?:,|;|\band\b|\bet\b|&)\s*", re.IGNORECASE)
_TITLE_SEPARATORS = re.compile(r"\s+[|–—·:»-]\s+")
_TOP_CHARS = 5000
_MACHINE_DATE = "[itemprop=datePublished], time[datetime]"
_DATE_HINT = "time, [class*=date i], [class*=time i], [class*=byline i], [class*=meta i]"
# www., m. and amp. name the same site's other front doors: a canonical URL on any of
# them is still the page's own.
_FRONT_DOORS = ("www.", "m.", "amp.")


@dataclass(frozen=True, slots=True)
class Metadata:
    """Everything about the page except its body and final language."""

    title: str | None
    authors: tuple[str, ...]
    published: datetime | None
    modified: datetime | None
    declared_languages: tuple[str | None, ...]
    canonical_url: str | None
    site_name: str | None
    image: str | None
    description: str | None
    free: bool | None
    body: str | None = None  # JSON-LD articleBody, raw


def _meta_map(tree: LexborHTMLParser) -> dict[str, str]:
    # Meta tags belong in <head>; searching only there skips a walk over the whole
    # page (microdata metas in the body are read by _visible_date).
    found: dict[str, str] = {}
    head = tree.head
    for node in head.css("meta[content]") if head is not None else ():
        attrs = node.attributes
        content = (attrs.get("content") or "").strip()
        key = attrs.get("property") or attrs.get("name") or attrs.get("itemprop")
        if key and content:
            found.setdefault(key.strip().lower(), content)
    return found


def _first(meta: dict[str, str], keys: tuple[str, ...]) -> str | None:
    return next((meta[key] for key in keys if key in meta), None)


def _title_part(tree: LexborHTMLParser, parts: list[str]) -> str:
    # "Site - Headline" or "Headline | Site": the headline is the part the page repeats.
    body = tree.body
    shown = " ".join(body.text(deep=True)[:_TOP_CHARS].split()) if body is not None else ""
    repeated = [part for part in parts if part in shown]
    return max(repeated or parts, key=len)


def _clean_title(tree: LexborHTMLParser, meta: dict[str, str], ld: JsonLd) -> str | None:
    for candidate in (meta.get("og:title"), ld.headline, meta.get("twitter:title")):
        if candidate and candidate.strip():
            return " ".join(candidate.split())
    h1 = tree.css_first("h1")
    heading = " ".join(h1.text().split()) if h1 is not None else ""
    node = tree.head.css_first("title") if tree.head is not None else None
    title = " ".join(node.text().split()) if node is not None else ""
    if heading and (not title or heading in title):
        return heading
    if title:
        parts = _TITLE_SEPARATORS.split(title)
        return _title_part(tree, parts) if len(parts) > 1 else title
    return heading or None


def _split_authors(raw: str) -> list[str]:
    raw = _PREFIX.sub("", " ".join(raw.split()))
    return [part for part in _SPLIT_AUTHORS.split(raw) if 1 < len(part) < 80]


def _matches(tree: LexborHTMLParser, selector: str, limit: int) -> Iterator[LexborNode]:
    """``tree.css(selector)[:limit]``, lazily: the first match comes from ``css_first``,
    which stops the walk there, and the full walk runs only when the caller asks for a
    second one (the first byline or date found is nearly always the one kept)."""
    first = tree.css_first(selector)
    if first is None:
        return
    yield first
    if limit > 1:
        yield from tree.css(selector)[1:limit]


def _authors(tree: LexborHTMLParser, meta: dict[str, str], ld: JsonLd) -> tuple[str, ...]:
    if ld.authors:
        names = [name for raw in ld.authors for name in _split_authors(raw)]
        return tuple(dict.fromkeys(names))
    for key in _AUTHOR_KEYS:
        value = meta.get(key)
        if value and not value.startswith("http"):
            return tuple(dict.fromkeys(_split_authors(value)))
    selector = _BYLINE if tree.css_first(".byline") is not None else _NO_BYLINE
    for node in _matches(tree, selector, 4):
        text = node.text(deep=True).strip()
        if text and len(text) < 80:
            return tuple(dict.fromkeys(_split_authors(text)))
    return ()


def _visible_date(tree: LexborHTMLParser, context: DateContext) -> datetime | None:
    for node in _matches(tree, _MACHINE_DATE, 10):
        attrs = node.attributes
        found = parse_date(attrs.get("datetime") or attrs.get("content") or node.text(), context)
        if found is not None:
            return found
    for node in _matches(tree, _DATE_HINT, 30):
        found = parse_prose_date(node.text(deep=True)[:200], context)
        if found is not None:
            return found
    # Hand-made pages write "Publié le 1er mars 2024" in plain text near the top.
    body = tree.body
    if body is None:
        return None
    return parse_published_phrase(body.text(deep=True)[:_TOP_CHARS], context)


def _page_context(
    context: DateContext, languages: tuple[str | None, ...], modified: datetime | None
) -> DateContext:
    # American pages write the month first; a page that dates its update with an offset
    # and its publication only in words is in that offset's zone.
    month_first = any(lang and lang.lower().replace("_", "-") == "en-us" for lang in languages)
    zone = context.zone or (modified.tzinfo if modified is not None else None)
    return replace(context, zone=zone, month_first=month_first or context.month_first)


def _same_site(candidate: str, url: str | None) -> bool:
    parts = urlsplit(candidate)  # join_url checked it parses
    if parts.scheme not in ("http", "https") or parts.path in ("", "/"):
        return False  # a canonical pointing at the home page is a template bug
    if url is None:
        return True
    host = site_of(parts.hostname or "", _FRONT_DOORS)
    page = join_url(None, url)
    page_host = site_of(urlsplit(page).hostname or "", _FRONT_DOORS) if page else ""
    return on_site(host, page_host) or on_site(page_host, host)


def _canonical(
    tree: LexborHTMLParser, meta: dict[str, str], ld: JsonLd, url: str | None
) -> str | None:
    head = tree.head
    link = head.css_first("link[rel~=canonical i][href]") if head is not None else None
    for raw in (link.attributes.get("href") if link else None, meta.get("og:url"), ld.url):
        if raw and raw.strip():
            absolute = join_url(url, raw.strip())
            if absolute is not None and _same_site(absolute, url):
                return absolute
    return None


def _absolute(raw: str | None, url: str | None) -> str | None:
    if not raw:
        return None
    return join_url(url, raw.strip())


def _languages(tree: LexborHTMLParser, meta: dict[str, str], ld: JsonLd) -> tuple[str | None, ...]:
    # The document element: the parser folds every other <html> tag into it, so it is
    # what css_first("html") finds, without that selector's walk of the whole page.
    html: LexborNode | None = tree.root
    lang = html.attributes.get("lang") or html.attributes.get("xml:lang") if html else None
    return (lang, meta.get("og:locale"), ld.language, meta.get("content-language"))


def read_metadata(
    tree: LexborHTMLParser,
    url: str | None,
    ld_scripts: list[str],
    context: DateContext = DateContext(),  # noqa: B008 - frozen, safe to share
) -> Metadata:
    """Collect the page's metadata (call before the body extractor modifies ``tree``).
    ``context`` places dates the page writes without a zone, or relative to its fetch."""
    meta = _meta_map(tree)
    ld = read_jsonld(ld_scripts)
    languages = _languages(tree, meta, ld)
    modified = parse_date(ld.modified, context) or parse_date(_first(meta, _MODIFIED_KEYS), context)
    published = parse_date(ld.published, context)
    published = published or parse_date(_first(meta, _PUBLISHED_KEYS), context)
    if published is None:
        published = _visible_date(tree, _page_context(context, languages, modified))
    site = meta.get("og:site_name") or ld.publisher or meta.get("application-name")
    return Metadata(
        title=_clean_title(tree, meta, ld),
        authors=_authors(tree, meta, ld),
        published=published,
        modified=modified,
        declared_languages=languages,
        canonical_url=_canonical(tree, meta, ld, url),
        site_name=site.strip() if site else None,
        image=_absolute(meta.get("og:image") or meta.get("twitter:image") or ld.image, url),
        description=meta.get("og:description") or meta.get("description") or ld.description,
        free=ld.free,
        body=ld.body,
    )
