"""An HTML page where a feed was expected: which feeds it links to, or that it is a login.

A user who gives a site's home page as a feed, or a feed URL that now answers with a
sign-in page, deserves to be told so, not ``not well-formed (invalid token)``. The same
``<link rel=alternate>`` reading serves feed discovery (``monitor sources add``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

# Media types of the feeds a page may announce, and the short name users know them by.
FEED_TYPES = {
    "application/rss+xml": "RSS",
    "application/atom+xml": "Atom",
    "application/feed+json": "JSON Feed",
    "application/json": "JSON Feed",
    "application/rdf+xml": "RDF",
    "text/xml": "XML",
    "application/xml": "XML",
}
# The start of an HTML document, after a BOM, whitespace, comments or an XML prolog.
_HTML_START = re.compile(rb"^(?:\s|<!--.*?-->|<\?xml[^>]*>)*<(?:!doctype\s+html|html|head|body)\b",
                         re.IGNORECASE | re.DOTALL)  # fmt: skip
_LOGIN_WORDS = re.compile(r"log[ -]?in|sign[ -]?in|connexion|se connecter|auth", re.IGNORECASE)
# A page is read for its links only in its first part: a link in <head> comes early.
_SCAN_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class FeedLink:
    """A feed a page announces with ``<link rel=alternate type=…>``."""

    url: str
    format: str  # "RSS", "Atom", "JSON Feed"...
    title: str


def looks_like_html(data: bytes, content_type: str | None = None) -> bool:
    """Whether the bytes are an HTML page rather than a feed."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf")
    if _HTML_START.match(head):
        return True
    # Servers label feeds text/html often enough: the header counts only when the bytes
    # show no sign of a feed.
    feedish = any(mark in head for mark in (b"<rss", b"<feed", b"<rdf:RDF", b"<?xml"))
    return content_type in ("text/html", "application/xhtml+xml") and not feedish


def feed_links(html: bytes | str, base: str) -> list[FeedLink]:
    """The feeds ``html`` (fetched from ``base``) links to, in the page's order."""
    text = html[:_SCAN_BYTES].decode("utf-8", "replace") if isinstance(html, bytes) else html
    tree = LexborHTMLParser(text)
    base = _base(tree, base)
    out: list[FeedLink] = []
    seen: set[str] = set()
    for node in tree.css("link[href]"):
        rel = (node.attributes.get("rel") or "").lower().split()
        kind = (node.attributes.get("type") or "").split(";")[0].strip().lower()
        if "alternate" not in rel or kind not in FEED_TYPES:
            continue
        url = _absolute(base, node.attributes.get("href") or "")
        if url is None or url in seen:
            continue
        seen.add(url)
        title = " ".join((node.attributes.get("title") or "").split())
        out.append(FeedLink(url, FEED_TYPES[kind], title))
    return out


def is_login_page(html: bytes | str) -> bool:
    """A page whose purpose is to ask for a password (a paywall or an expired session)."""
    text = html[:_SCAN_BYTES].decode("utf-8", "replace") if isinstance(html, bytes) else html
    tree = LexborHTMLParser(text)
    if tree.css_first("input[type=password]") is not None:
        return True
    for form in tree.css("form[action]"):
        if _LOGIN_WORDS.search(form.attributes.get("action") or ""):
            return True
    return False


def html_instead_of_feed(data: bytes, url: str) -> str:
    """The one error a feed source gets when its URL answers an HTML page."""
    if is_login_page(data):
        return "not a feed but a login page: the feed URL asks for an account (or moved)"
    links = feed_links(data, url)
    if not links:
        return "not a feed but an HTML page, which links to no feed (try kind: page)"
    shown = ", ".join(f"{link.url} ({link.format})" for link in links[:3])
    return f"not a feed but an HTML page; it links to {shown}"


def _base(tree: LexborHTMLParser, url: str) -> str:
    node = tree.css_first("base[href]")
    declared = node.attributes.get("href") if node is not None else None
    return _absolute(url, declared or "") or url


def _absolute(base: str, href: str) -> str | None:
    try:
        url = urljoin(base, href.strip())
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url
