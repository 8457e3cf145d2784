"""The work budget: feeds whose markup would keep feedparser busy for minutes are refused.

feedparser handles every element and entity reference in Python, tens of microseconds
each, and parses a document that is not well-formed twice (strict, then its tolerant
parser). A few megabytes of ``<a><a><a>`` or of stray ``&`` would hold a worker for
minutes, and the size cap alone does not prevent it. So, before feedparser runs: at most
``MAX_ELEMENTS`` elements; and a document that expat (in C, in a fraction of a second)
finds not well-formed may carry at most ``MAX_TOLERANT_MARKUP`` tags and references,
since it will go through the slow tolerant parser. Real feeds sit far below both: a
thousand full-text items are a few tens of thousands of elements.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from xml.parsers import expat

from monitor.errors import FeedError

MAX_ELEMENTS = 100_000
MAX_TOLERANT_MARKUP = 100_000

_ELEMENT = re.compile(r"<[A-Za-z_:]")


def segments(text: str) -> Iterator[tuple[str, bool]]:
    """``text`` cut into (chunk, is_cdata) pieces, in order; linear even when unclosed."""
    pos = 0
    while pos < len(text):
        start = text.find("<![CDATA[", pos)
        if start < 0:
            yield text[pos:], False
            return
        if start > pos:
            yield text[pos:start], False
        close = text.find("]]>", start)
        end = len(text) if close < 0 else close + 3
        yield text[start:end], True
        pos = end


def _elements(text: str) -> int:
    return sum(
        sum(1 for _ in _ELEMENT.finditer(chunk)) for chunk, cdata in segments(text) if not cdata
    )


def _markup(text: str) -> int:
    """Every "<" and "&" outside CDATA: what the tolerant parser handles one by one."""
    return sum(chunk.count("<") + chunk.count("&") for chunk, cdata in segments(text) if not cdata)


def _well_formed(document: bytes) -> bool:
    # No handlers and no DOCTYPE left (``_guard`` removed it): expat only checks syntax.
    parser = expat.ParserCreate()
    try:
        parser.Parse(document, True)
    except expat.ExpatError:
        return False
    return True


def check_markup_budget(text: str, document: bytes) -> None:
    """Raise ``FeedError`` if parsing ``document`` (``text``, encoded) would take too long."""
    elements = _elements(text)
    if elements > MAX_ELEMENTS:
        raise FeedError(f"feed has {elements} elements, over the {MAX_ELEMENTS} limit")
    markup = _markup(text)
    if markup > MAX_TOLERANT_MARKUP and not _well_formed(document):
        raise FeedError(
            f"invalid XML with {markup} tags and references, too many to read leniently"
        )
