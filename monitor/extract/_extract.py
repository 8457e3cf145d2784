"""``extract_article``: one page's HTML to an ``Article``.

The order matters: scripts are taken out first (keeping the JSON-LD they carry), the
metadata is read from the otherwise untouched tree (bylines and dates sit in parts
the body writer leaves out), then the body is scored and written out, and the
language and quality flag are judged on the body found.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from selectolax.lexbor import LexborDocumentOptions, LexborHTMLParser, LexborNode, SelectolaxError

from monitor.errors import ExtractError
from monitor.extract._body import PROSE, pick_content
from monitor.extract._bounds import flatten_deep, too_deep
from monitor.extract._dates import DateContext
from monitor.extract._encoding import decode_html, html_utf8, is_utf8
from monitor.extract._language import choose_language
from monitor.extract._metadata import read_metadata
from monitor.extract._model import Article
from monitor.extract._quality import assess
from monitor.extract._state import PendingScript, pick_body, state_kind
from monitor.extract._text import body_text

_JUNK_FOR_OVERRIDE = ["noscript", "template", "svg", "iframe", "button"]
_FIRST_WALK = ", ".join(("script", "style", *PROSE))
_RAW = ("script", "style")
# Without mutation events: the only thing they do for a parse is mirror a <select>'s
# chosen <option> into its <selectedcontent>, which no reader sees, and the events
# cost 3% of the parse.
_PARSE_OPTIONS = LexborDocumentOptions.WO_EVENTS


_Walk = tuple[list[str], list[PendingScript], list[LexborNode]]


def _first_walk(tree: LexborHTMLParser) -> _Walk:
    """Remove scripts and styles; return the JSON-LD scripts' text, the scripts that
    may hold the page's state (see _state) and the page's paragraph-like blocks, all
    from one walk of the tree (each walk costs a third of a parse).

    Script and style text would otherwise dilute the link density of every container.
    """
    found = tree.css(_FIRST_WALK)
    return _split_walk(found, [node.tag for node in found])


def _probed_walk(
    tree: LexborHTMLParser,
) -> tuple[list[str], list[PendingScript], list[LexborNode], bool]:
    """``_first_walk``, flattening the page first when it nests too deep (see _bounds);
    the last value says whether it did. The probe is a walk of its own: sharing the
    first walk's would need its matches told apart from the paragraphs by their tags,
    which the cheaper ``:first-child`` probe does not allow."""
    flattened = too_deep(tree) and flatten_deep(tree)
    return (*_first_walk(tree), flattened)


def _split_walk(found: list[LexborNode], tags: list[str | None]) -> _Walk:
    scripts: list[LexborNode] = []
    prose: list[LexborNode] = []
    jsonld = []
    states: list[PendingScript] = []
    for node, tag in zip(found, tags, strict=True):
        if tag not in _RAW:
            prose.append(node)
            continue
        scripts.append(node)
        if tag != "script":
            continue
        attrs = node.attributes
        kind = attrs.get("type")
        if kind and "ld+json" in kind.lower():
            jsonld.append(node.text(deep=True))
        elif state_kind(attrs) is not None:
            # node.text reads its deep text, later and only on teaser pages: the
            # script is unlinked below with its subtree whole, so the text stays.
            states.append((attrs, node.text))
    for node in reversed(scripts):
        node.decompose(recursive=False)
    return jsonld, states, prose


def _override(tree: LexborHTMLParser, selector: str) -> list[LexborNode]:
    tree.strip_tags(_JUNK_FOR_OVERRIDE)
    try:
        return tree.css(selector)
    except SelectolaxError:
        raise ExtractError(f"invalid body selector {selector!r}") from None


def _body_nodes(
    tree: LexborHTMLParser, prose: list[LexborNode], body_selector: str | None
) -> list[LexborNode]:
    root = tree.body
    if root is None:
        return []
    nodes = _override(tree, body_selector) if body_selector else []
    return nodes or pick_content(root, prose)


def _replaced(text: str, title: str | None) -> bool:
    """Whether U+FFFD is in the body or the title (searched apart: no copy of the body)."""
    return "\ufffd" in text or (title is not None and "\ufffd" in title)


class _Rest:
    """The page's text around the body, read only when a short body needs a second look."""

    def __init__(self, root: LexborNode | None) -> None:
        self.root = root

    def text(self) -> str:
        # Where wall and captcha messages sit.
        return self.root.text(deep=True, separator=" ") if self.root is not None else ""


def extract_article(
    html: str | bytes,
    url: str | None = None,
    *,
    body_selector: str | None = None,
    charset: str | None = None,
    languages: Sequence[str] | None = None,
    feed_published: datetime | None = None,
    timezone: tzinfo | None = None,
    fetched_at: datetime | None = None,
) -> Article:
    """Extract an article's body and metadata from a page.

    ``url`` resolves relative links and checks the canonical URL; ``body_selector`` is a
    source's CSS override for the body (the automatic extractor runs when it matches
    nothing); ``charset`` is the HTTP Content-Type charset; ``languages`` limits language
    detection; ``feed_published`` is the feed entry's date, the last resort for
    ``published``; ``timezone`` (the source's) places dates the page writes without
    one, and ``fetched_at`` is what "3 hours ago" counts back from (default: now).
    """
    context = DateContext(fetched=fetched_at, zone=timezone)
    data, checked = html_utf8(html, charset)
    tree = LexborHTMLParser(data, options=_PARSE_OPTIONS)
    jsonld, states, prose, flattened = _probed_walk(tree)
    metadata = read_metadata(tree, url, jsonld, context)
    text = body_text(_body_nodes(tree, prose, body_selector))
    # A page whose script writes the article in: its JSON copy (see _state).
    text, source = pick_body(text, metadata.body, states)
    if not checked and _replaced(text, metadata.title) and not is_utf8(data):
        # Bytes passed as UTF-8 that are not: decode them properly and start again.
        return extract_article(
            decode_html(data, charset),
            url,
            body_selector=body_selector,
            languages=languages,
            feed_published=feed_published,
            timezone=timezone,
            fetched_at=fetched_at,
        )
    rest = _Rest(tree.body)
    return Article(
        title=metadata.title,
        text=text,
        authors=metadata.authors,
        published=metadata.published or feed_published,
        modified=metadata.modified,
        language=choose_language(metadata.declared_languages, text or rest.text(), languages),
        canonical_url=metadata.canonical_url,
        site_name=metadata.site_name,
        image=metadata.image,
        description=metadata.description,
        quality=assess(text, metadata, rest.text),
        flattened=flattened,
        body_source=source,
    )
