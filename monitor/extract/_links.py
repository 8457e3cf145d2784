"""Article links of a listing page (``kind: page`` sources).

A section front links to its articles but also to sections, tags, authors, social
networks and legal pages. Each link is scored on where it sits (navigation, footer and
tag clouds lose; headings and article elements win), on its URL (long slugs, ids and
dates look like articles; ``/tag/``, ``/author/`` and short section paths do not) and
on its anchor text (a headline has several words).
"""

from __future__ import annotations

import re
from urllib.parse import urldefrag, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from monitor.errors import ExtractError
from monitor.extract._bounds import flatten_deep, join_url, too_deep
from monitor.extract._clean import label
from monitor.extract._encoding import decode_html, html_utf8, is_utf8
from monitor.extract._patterns import class_weight
from monitor.text import on_site, site_of

_NOT_ARTICLE_PATH = re.compile(
    r"/(?:tags?|category|categories|categorie|rubrique|topics?|themes?|authors?|auteurs?|"
    r"users?|profile|search|recherche|login|signin|register|subscribe|abonnement|"
    r"newsletters?|about|contact|legal|privacy|cookies|terms|cgu|mentions-legales|"
    r"page|feed|rss|wp-login\.php|account|compte|shop|jobs|careers)(?:/|$)",
    re.IGNORECASE,
)
_FILE_SUFFIX = re.compile(r"\.(?:jpe?g|png|gif|webp|svg|pdf|zip|mp[34]|xml|rss|css|js)$", re.I)
_DATE_PATH = re.compile(r"/(?:19|20)\d{2}/(?:[01]?\d/)?")
_ID_PATH = re.compile(r"\d{4,}")
_OUTSIDE = "nav, footer, header, aside, [role=navigation], [role=contentinfo]"
_MIN_SCORE = 2


def _url_score(path: str) -> int:
    segments = [s for s in path.split("/") if s]
    if not segments or _NOT_ARTICLE_PATH.search(path) or _FILE_SUFFIX.search(path):
        return -10
    slug = max(segments, key=len)
    score = 0
    score += 2 if slug.count("-") >= 3 or slug.count("_") >= 3 else 0
    score += 1 if _DATE_PATH.search(path) else 0
    score += 1 if _ID_PATH.search(path) else 0
    score -= 2 if len(segments) == 1 and slug.count("-") < 2 else 0
    return score


def _context_score(anchor: LexborNode, outside: set[int]) -> int:
    score = 0
    node: LexborNode | None = anchor
    for _ in range(8):
        if node is None or node.tag in ("body", "html"):
            break
        if node.mem_id in outside:
            return -10
        if node.tag in ("h1", "h2", "h3", "h4", "article"):
            score += 2
        elif node.attributes and class_weight(label(node)) < 0:
            score -= 2
        node = node.parent
    return score


def _text_score(text: str) -> int:
    words = len(text.split())
    return 2 if words >= 5 else 1 if words >= 3 else -1


def _candidates(tree: LexborHTMLParser, selector: str | None) -> list[LexborNode]:
    if selector is None:
        return tree.css("a[href]")
    found: list[LexborNode] = []
    try:
        matched = tree.css(selector)
    except SelectolaxError:
        raise ExtractError(f"invalid link selector {selector!r}") from None
    for node in matched:
        found.extend([node] if node.tag == "a" else node.css("a[href]"))
    return found


def extract_links(html: str | bytes, base_url: str, *, selector: str | None = None) -> list[str]:
    """Return the listing page's article links: absolute, deduplicated, in page order.

    ``selector`` (a CSS selector for the links or their containers) replaces the scoring;
    an invalid one raises ``ExtractError``.
    """
    data, checked = html_utf8(html)
    if not checked and not is_utf8(data):
        data = decode_html(data).encode("utf-8")
    tree = LexborHTMLParser(data)
    if too_deep(tree):
        flatten_deep(tree)
    page = join_url(None, base_url) or ""
    base = tree.css_first("base[href]")
    if base is not None:
        # A malformed <base href> is ignored, as browsers do.
        page = join_url(page, base.attributes.get("href") or "") or page
    site = site_of(urlsplit(page).hostname or "")
    outside = {node.mem_id for node in tree.css(_OUTSIDE)}
    seen: dict[str, None] = {}
    for anchor in _candidates(tree, selector):
        joined = join_url(page, (anchor.attributes.get("href") or "").strip())
        if joined is None:
            continue  # "http://[zz": not a link anyone can follow
        url = urldefrag(joined)[0]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or url in seen:
            continue
        if selector is None:
            if not on_site(site_of(parts.hostname or ""), site):
                continue
            text = anchor.text(deep=True)
            score = _url_score(parts.path) + _text_score(text) + _context_score(anchor, outside)
            if score < _MIN_SCORE:
                continue
        seen[url] = None
    return list(seen)
