"""The DTD guard: hostile entity tricks are refused before any XML parser runs.

Feeds come from servers we do not control, and XML's document type declaration is the
classic way to hurt a reader: nested entities that expand a few kilobytes into gigabytes
(billion laughs), one long entity referenced many times (quadratic blowup), and external
entities or DTDs that make the parser read local files or fetch URLs (XXE, SSRF).

Rather than trust every layer below (expat's own amplification limit, feedparser's
regex-based DOCTYPE rewriting, its tolerant fallback parser), ``neutralise_doctype``
reads the prolog itself and:

* refuses external entities, parameter entities, entity values that reference other
  entities, and attribute defaults that reference entities;
* expands the few harmless internal entities a real feed may declare (``&nbsp;`` as
  ``&#160;``) itself, under a budget, and drops the DOCTYPE, so no parser below ever
  sees a DTD with declarations (an external DTD identifier is dropped unread);
* refuses anything entity-shaped it cannot account for in the prolog.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.errors import FeedError
from monitor.feeds._budget import segments

# A real feed declares a handful of character entities; more is an attack or junk.
MAX_ENTITIES = 64
MAX_ENTITY_VALUE = 1024
# Characters that entity expansion may add to the document, in total.
EXPANSION_BUDGET = 1 << 20

_XML_SPACE = " \t\r\n"
_NAME = re.compile(r"[^\s\[\]>\"'%&;<]+")
_CHAR_REF = re.compile(r"&#(x[0-9A-Fa-f]{1,6}|[0-9]{1,7});")
_PREDEFINED = {"amp", "lt", "gt", "quot", "apos"}
_ROOT_START = re.compile(r"<\w")
_ENTITY_DECL = re.compile(r"<!ENTITY", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Doctype:
    start: int
    end: int
    entities: dict[str, str]


class _Scanner:
    """A cursor over the prolog; every method fails closed with ``FeedError``."""

    def __init__(self, text: str, pos: int) -> None:
        self.text = text
        self.pos = pos

    def skip_space(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in _XML_SPACE:
            pos += 1
        self.pos = pos

    def startswith(self, prefix: str) -> bool:
        return self.text.startswith(prefix, self.pos)

    def skip_past(self, terminator: str, what: str) -> None:
        end = self.text.find(terminator, self.pos)
        if end < 0:
            raise FeedError(f"unterminated {what} in the feed's prolog")
        self.pos = end + len(terminator)

    def name(self) -> str:
        match = _NAME.match(self.text, self.pos)
        if not match:
            raise FeedError("unreadable DOCTYPE in the feed")
        self.pos = match.end()
        return match.group()

    def quoted(self) -> str:
        quote = self.text[self.pos : self.pos + 1]
        if quote not in ("'", '"'):
            raise FeedError("unreadable DOCTYPE in the feed")
        end = self.text.find(quote, self.pos + 1)
        if end < 0:
            raise FeedError("unterminated literal in the feed's DOCTYPE")
        value = self.text[self.pos + 1 : end]
        self.pos = end + 1
        return value

    def declaration_body(self) -> str:
        """The rest of a ``<!ELEMENT``/``<!ATTLIST``/``<!NOTATION``, quotes respected."""
        start = self.pos
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in ("'", '"'):
                self.quoted()
                continue
            self.pos += 1
            if char == ">":
                return self.text[start : self.pos]
        raise FeedError("unterminated declaration in the feed's DOCTYPE")


def _entity_value(raw: str, name: str) -> str:
    """Resolve the character references of an internal entity; refuse anything else."""
    if "%" in raw or "<" in raw:
        raise FeedError(f"entity {name!r} holds markup or parameter references")
    if "&" in _CHAR_REF.sub("", raw):
        raise FeedError(f"entity {name!r} references other entities (entity expansion attack)")
    if len(raw) > MAX_ENTITY_VALUE:
        raise FeedError(f"entity {name!r} is {len(raw)} characters long")

    def char(match: re.Match[str]) -> str:
        ref = match.group(1)
        code = int(ref[1:], 16) if ref[0] == "x" else int(ref)
        return chr(code) if 0 < code <= 0x10FFFF else "\ufffd"

    return _CHAR_REF.sub(char, raw)


def _entity(scan: _Scanner, entities: dict[str, str]) -> None:
    scan.skip_space()
    if scan.startswith("%"):
        raise FeedError("parameter entities are not allowed in a feed")
    name = scan.name()
    scan.skip_space()
    if scan.startswith("SYSTEM") or scan.startswith("PUBLIC"):
        raise FeedError(f"external entity {name!r} refused (it would read a file or URL)")
    value = _entity_value(scan.quoted(), name)
    scan.skip_space()
    if not scan.startswith(">"):
        raise FeedError(f"unreadable declaration of entity {name!r}")
    scan.pos += 1
    if name in _PREDEFINED:
        return
    if len(entities) >= MAX_ENTITIES:
        raise FeedError(f"the feed declares more than {MAX_ENTITIES} entities")
    # XML keeps the first declaration of a name; so do we.
    entities.setdefault(name, value)


def _internal_subset(scan: _Scanner) -> dict[str, str]:
    entities: dict[str, str] = {}
    while True:
        scan.skip_space()
        if scan.startswith("]"):
            scan.pos += 1
            return entities
        if scan.startswith("<!--"):
            scan.skip_past("-->", "comment")
        elif scan.startswith("<?"):
            scan.skip_past("?>", "processing instruction")
        elif scan.startswith("<!ENTITY"):
            scan.pos += len("<!ENTITY")
            _entity(scan, entities)
        elif scan.startswith("<!ATTLIST"):
            if "&" in scan.declaration_body():
                raise FeedError("attribute defaults that reference entities are not allowed")
        elif scan.startswith("<!ELEMENT") or scan.startswith("<!NOTATION"):
            scan.declaration_body()
        elif scan.startswith("%"):
            raise FeedError("parameter entity references are not allowed in a feed")
        else:
            raise FeedError("unreadable DOCTYPE in the feed")


def _doctype(scan: _Scanner) -> _Doctype:
    start = scan.pos
    scan.pos += len("<!DOCTYPE")
    scan.skip_space()
    scan.name()
    scan.skip_space()
    # The external identifier is read to get past it, never resolved: it is dropped.
    if scan.startswith("SYSTEM"):
        scan.pos += len("SYSTEM")
        scan.skip_space()
        scan.quoted()
    elif scan.startswith("PUBLIC"):
        scan.pos += len("PUBLIC")
        scan.skip_space()
        scan.quoted()
        scan.skip_space()
        if scan.startswith('"') or scan.startswith("'"):
            scan.quoted()
    scan.skip_space()
    entities: dict[str, str] = {}
    if scan.startswith("["):
        scan.pos += 1
        entities = _internal_subset(scan)
        scan.skip_space()
    if not scan.startswith(">"):
        raise FeedError("unreadable DOCTYPE in the feed")
    return _Doctype(start, scan.pos + 1, entities)


def _find_doctype(text: str) -> _Doctype | None:
    """Walk the prolog as expat does: XML declaration, comments, PIs, space, DOCTYPE."""
    scan = _Scanner(text, 0)
    while True:
        scan.skip_space()
        if scan.startswith("<?"):
            scan.skip_past("?>", "processing instruction")
        elif scan.startswith("<!--"):
            scan.skip_past("-->", "comment")
        elif scan.startswith("<!DOCTYPE"):
            return _doctype(scan)
        else:
            return None


def _expand(text: str, entities: dict[str, str]) -> str:
    """Replace references to ``entities`` outside CDATA sections, within the budget."""
    pattern = re.compile("&(" + "|".join(re.escape(name) for name in entities) + ");")
    escaped = {name: _escape(value) for name, value in entities.items()}
    added = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal added
        value = escaped[match.group(1)]
        added += len(value)
        if added > EXPANSION_BUDGET:
            raise FeedError("entity expansion exceeds its budget (quadratic blowup attack)")
        return value

    # A reference inside a CDATA section is text, not a reference.
    return "".join(
        chunk if cdata else pattern.sub(replace, chunk) for chunk, cdata in segments(text)
    )


def _escape(value: str) -> str:
    # Safe in text and in attribute values of either quote style.
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("'", "&#39;")
    )


def neutralise_doctype(text: str) -> str:
    """Return ``text`` with its DOCTYPE gone and its harmless entities expanded.

    Raises ``FeedError`` for any declaration that could read files, fetch URLs or
    expand without bound.
    """
    doctype = _find_doctype(text)
    if doctype is not None:
        body = text[: doctype.start] + text[doctype.end :]
        text = _expand(body, doctype.entities) if doctype.entities else body
    # feedparser's tolerant parser takes entity declarations from everything before the
    # first element with a regex of its own; none may survive the step above.
    root = _ROOT_START.search(text)
    head = text[: root.start()] if root else text
    if _ENTITY_DECL.search(head):
        raise FeedError("entity declarations outside a readable DOCTYPE")
    return text
