"""Feed HTML -> plain text, paragraphs separated by blank lines.

Titles, summaries and ``content:encoded`` bodies arrive as HTML fragments; rules match
words, and alerts quote snippets, so both want the text a reader sees, not the markup.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

_DROP = "script, style, noscript, template, iframe, object, embed, svg"
_BLOCKS = (
    "p, div, section, article, aside, header, footer, blockquote, pre, figure, figcaption, "
    "ul, ol, li, dl, dt, dd, table, tr, h1, h2, h3, h4, h5, h6, hr, address, details, summary"
)
# Break markers: control characters no text keeps (they are stripped from the input),
# so whitespace can be collapsed freely and the breaks restored afterwards.
_PARAGRAPH = "\x00"
_LINE = "\x01"
_SPACE = re.compile(r"\s+")
_BLANK_LINE = re.compile(r"\n\s*\n")
_NEEDS_PARSING = re.compile(r"[<&]")


def _tidy(text: str) -> str:
    """Collapse whitespace; paragraph marks become blank lines, line marks newlines."""
    paragraphs: list[str] = []
    for block in _SPACE.sub(" ", text).split(_PARAGRAPH):
        lines = (line.strip() for line in block.split(_LINE))
        joined = "\n".join(line for line in lines if line)
        if joined:
            paragraphs.append(joined)
    return "\n\n".join(paragraphs)


def html_to_text(html: str) -> str:
    """The visible text of an HTML fragment; scripts, styles and embeds dropped."""
    html = html.replace(_PARAGRAPH, "").replace(_LINE, "")
    if not _NEEDS_PARSING.search(html):
        return _tidy(html)
    root = LexborHTMLParser(html).body
    if root is None:
        return ""
    for node in root.css(_DROP):
        node.decompose()
    for node in root.css("br"):
        node.insert_before(_LINE)
    for node in root.css(_BLOCKS):
        node.insert_before(_PARAGRAPH)
        node.insert_after(_PARAGRAPH)
    return _tidy(root.text(deep=True, separator="", strip=False))


def plain_text(value: str, content_type: str | None) -> str:
    """``value`` as plain text: parsed as HTML unless the feed says it is plain text."""
    if content_type != "text/plain":
        return html_to_text(value)
    # In plain text a blank line is the only paragraph break a writer can make.
    value = value.replace(_PARAGRAPH, "").replace(_LINE, "")
    return _tidy(_PARAGRAPH.join(_BLANK_LINE.split(value)))


def http_url(value: object, base: str) -> str | None:
    """``value`` made absolute against ``base`` if it is an http(s) URL, else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        absolute = urljoin(base, value.strip())
        parts = urlsplit(absolute)
    except ValueError:
        return None
    # javascript:, data: and file: links are refused here so no later stage fetches them.
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return absolute
