"""Write the chosen body nodes out as plain text paragraphs.

Block elements end a paragraph and inline ones join without splitting words, so the
text reads as the page does. Boilerplate parts (see ``_clean``) are skipped on the
way, and blocks whose text shows they are not prose are taken back once written: link
lists, link-heavy blocks, paragraphs that are only a link, furniture lines
("Advertisement", "Read more"), and the page title repeated as a heading.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode

from monitor.extract._clean import ALWAYS_LEFT_OUT, RULE_KEYS, doomed_by
from monitor.extract._patterns import boilerplate_line

_BLOCKS = frozenset(
    {
        "p", "div", "section", "article", "main", "ul", "ol", "li", "dl", "dt", "dd",
        "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "tr", "thead",
        "tbody", "tfoot", "caption", "figure", "hr", "address", "details", "summary",
        "center", "fieldset", "form", "header", "footer", "aside", "nav", "hgroup",
    }
)  # fmt: skip
_CONTAINERS = frozenset({"div", "section", "ul", "ol", "dl", "table", "figure", "form", "details"})
# Left out whatever their attributes say: the writer's own choices and _clean's tags.
# Void elements hold no text: skipped before their attributes are read (an img's src).
_LEFT_OUT = frozenset(
    {"h1", "figcaption", "caption", "label", "sup", "img", "wbr", *ALWAYS_LEFT_OUT}
)
_RULE_KEYS = RULE_KEYS
_CELLS = frozenset({"td", "th"})
_LINKABLE = frozenset({"p"})
_LISTS = frozenset({"ul", "ol", "dl"})
# The blocks _unwanted may take back; the others are kept without a call.
_JUDGED = _LINKABLE | _CONTAINERS
_LINK_ONLY_MAX = 200
_LINK_ONLY_DENSITY = 0.8
# Source newlines are plain whitespace in HTML; only <br> breaks a line, so it is
# written as a marker character that no page text contains.
_BR = "\x00"
_SPACES = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")
_ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\ufeff")
# How br-laid-out text is cut (the reference ``_Writer._add_lines`` follows without
# running them; tests/test_extract.py checks the two agree).
_LINE_BREAK = re.compile(r" ?\x00 ?")
_PARAGRAPH_BREAK = re.compile(r" ?\x00 ?\x00[\x00 ]*")


class _Writer:
    """Accumulates inline text and cuts it into paragraphs at block boundaries."""

    def __init__(self) -> None:
        self.paragraphs: list[str] = []
        self.parts: list[str] = []

    def flush(self) -> None:
        if not self.parts:
            return
        raw = "".join(self.parts)
        self.parts.clear()  # cleared, not replaced: the walk holds on to the list
        if raw.isprintable() and "  " not in raw:
            # The commonest paragraph: no whitespace but single spaces (every other
            # whitespace character, and the _BR marker, is unprintable), so collapsing
            # would only strip its ends; split and join cost a string per word.
            self._add(raw.strip(" "))
            return
        if _BR not in raw:
            self._add(" ".join(raw.split()))
            return
        # Two line breaks in a row are how br-laid-out templates separate paragraphs.
        if not any(char in raw for char in _ZERO_WIDTH):  # each `in` a C search
            # The common case: str.split collapses the spaces as _SPACES does (the
            # edge space it drops is one the patterns below and strip() drop anyway).
            collapsed = " ".join(raw.split())
        else:
            collapsed = _SPACES.sub(" ", raw)
        self._add_lines(collapsed.split(_BR))

    def _add_lines(self, pieces: list[str]) -> None:
        """Add the paragraphs of a text cut at its line breaks into ``pieces``.

        What ``_PARAGRAPH_BREAK.split`` then ``_LINE_BREAK.sub`` give, by str methods
        (the patterns try every position of the text): with spaces collapsed, an inner
        piece that is empty or one space sits between two breaks of one run, which
        ends the paragraph; the other breaks are line breaks, and the one space each
        side of them goes.
        """
        last = len(pieces) - 1
        lines: list[str] = []
        for i, piece in enumerate(pieces):
            if 0 < i < last and (not piece or piece == " "):
                self._add("\n".join(lines).strip())
                lines = []
            else:
                lines.append(piece.strip(" "))
        self._add("\n".join(lines).strip())

    def _add(self, text: str) -> None:
        if "\u200b" in text:
            text = text.replace("\u200b", "")
        if text and not (len(text) < 120 and boilerplate_line(text)):
            self.paragraphs.append(text)


def _unwanted(tag: str, size: int, linked: int) -> bool:
    """Whether a block just written out should be taken back, from its text size and
    the part of it inside links."""
    if tag in _LINKABLE:
        # A short paragraph that is nothing but a link is a teaser for another page
        # ("Who will make the Rock Hall in 2020?" under "You may also like...").
        return 0 < size < _LINK_ONLY_MAX and linked > _LINK_ONLY_DENSITY * size
    if tag not in _CONTAINERS:
        return False
    if size == 0:
        return False
    density = linked / size
    if tag in _LISTS:
        # A list of links is navigation or "related stories", whatever its class says.
        return density > 0.5
    return (density > 0.5 and size < 1000) or density > 0.7


class _Total:
    """The text length of the body node being written, read only when a part's
    weight asks for it (most bodies have no part that does)."""

    __slots__ = ("node", "value")

    def __init__(self, node: LexborNode) -> None:
        self.node = node
        self.value = -1

    def __call__(self) -> int:
        if self.value < 0:
            self.value = len(self.node.text(deep=True))
        return self.value


def _walk(node: LexborNode, out: _Writer, total: _Total, in_link: bool) -> tuple[int, int]:
    """Write ``node``'s children out; return their text size and the part in links.

    Sizes are counted on the way, so judging a block by its link density costs no
    second pass over its text. This runs once per node of the body, so each step is
    the cheapest selectolax offers: ``is_text_node`` before ``tag``, ``first_child`` and
    ``next`` rather than a generator, and the attribute rules read only for elements
    whose attributes can trigger one.
    """
    size = linked = 0
    parts = out.parts
    child = node.first_child
    while child is not None:
        if child.is_text_node:
            content = child.text_content
            if not content or content.isspace():
                # Indentation between tags: a space at most, and none to start a paragraph.
                if parts:
                    parts.append(" ")
            else:
                parts.append(content)
                chars = len(content) - content.count(" ") - content.count("\n")  # text_size
                size += chars
                if in_link:
                    linked += chars
            child = child.next
            continue
        tag = child.tag
        if tag == "br":
            parts.append(_BR)
        elif (
            tag is None
            or tag in _LEFT_OUT
            or tag[0] == "-"
            or (
                # len(attrs) is a cheap C call; the dict costs a string per attribute
                # name and value, and two body elements in five carry none.
                len(child.attrs)
                and not _RULE_KEYS.isdisjoint(attrs := child.attributes)
                and doomed_by(child, tag, attrs, total)
            )
        ):
            pass  # left out, with everything under it
        elif tag in _CELLS:
            parts.append(" ")
            child_size, child_linked = _walk(child, out, total, in_link)
            parts.append(" ")
            size += child_size
            linked += child_linked
        elif tag in _BLOCKS:
            if parts:  # most blocks start and end with nothing pending: no call
                out.flush()
            mark = len(out.paragraphs)
            child_size, child_linked = _walk(child, out, total, in_link or tag == "a")
            if parts:
                out.flush()
            if tag in _JUDGED and _unwanted(tag, child_size, child_linked):
                del out.paragraphs[mark:]
            else:
                size += child_size
                linked += child_linked
        else:
            child_size, child_linked = _walk(child, out, total, in_link or tag == "a")
            size += child_size
            linked += child_linked
        child = child.next
    return size, linked


def body_text(nodes: list[LexborNode]) -> str:
    """Return the text of ``nodes`` as paragraphs separated by a blank line."""
    out = _Writer()
    for node in nodes:
        out.flush()
        if node.tag == "-text":
            out.parts.append(node.text_content or "")
            continue
        mark = len(out.paragraphs)
        size, linked = _walk(node, out, _Total(node), False)
        out.flush()
        if node.tag in _CONTAINERS and _unwanted(node.tag, size, linked):
            del out.paragraphs[mark:]
    out.flush()
    return "\n\n".join(out.paragraphs)
