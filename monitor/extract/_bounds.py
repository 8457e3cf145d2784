"""Keep a parsed page within the depth every later walk can afford.

Real news pages nest elements at most ~55 deep (the 893 pages of the extraction
corpus); a hostile page can nest 60,000 (``<table><tr><td>`` 20,000 times in 300 KB).
The scorer and the writer read each container's text, so their cost grows with depth
times size, and the writer recurses once per level. Past ``MAX_DEPTH`` levels an
element is replaced by its own text: nothing readable is lost, the walks stay linear
in the page, and the article says it was ``flattened``.

The walks here are iterative: they never recurse on the page's depth.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

# Twice the deepest real page seen: deep enough for any template, shallow enough that
# depth × page size stays a few million node visits on a 15 MiB page.
MAX_DEPTH = 128
# Matches every element with at least MAX_DEPTH element ancestors (<html> included):
# exactly those ``flatten_deep`` replaces, and their descendants. Added to a walk
# the extractor makes anyway, it costs a few percent of an extraction, where a walk of
# its own in Python would cost a quarter.
DEEP_PROBE = " > ".join(["*"] * (MAX_DEPTH + 1))
# Tags the extractor's first walk also selects; only blockquote and pre nest in one
# another (a <p> closes at the next block, <br>, scripts and styles hold no elements).
_ALSO_SELECTED = frozenset({"script", "style", "p", "pre", "blockquote", "br"})
_NESTING = frozenset({"pre", "blockquote"})


def maybe_deep(found: list[LexborNode], tags: list[str | None] | None = None) -> bool:
    """Whether a walk that added ``DEEP_PROBE`` to its selector may have met elements
    nested too deep: any element it found that its own selector does not ask for, or
    blockquotes and pres inside one another (a chain of those only is otherwise
    indistinguishable from prose). False means the page is certainly shallow.
    ``tags``: the found nodes' tags, when the caller has read them already."""
    if tags is None:
        tags = [node.tag for node in found]
    if not _ALSO_SELECTED.issuperset(tags):
        return True
    if "pre" not in tags and "blockquote" not in tags:
        return False  # most pages: no nesting to look for
    for node, tag in zip(found, tags, strict=True):
        if tag in _NESTING:
            parent = node.parent
            if parent is not None and parent.tag in _NESTING:
                return True
    return False


def flatten_deep(tree: LexborHTMLParser, limit: int = MAX_DEPTH) -> bool:
    """Replace every element nested ``limit`` levels deep by its text; True when any was.

    Run before any node of ``tree`` is kept elsewhere: replaced nodes are freed.
    """
    root = tree.root
    if root is None:
        return False
    too_deep: list[LexborNode] = []
    stack: list[tuple[LexborNode, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        child = node.child
        while child is not None:
            tag = child.tag
            if tag is not None and not tag.startswith("-"):
                if depth + 1 >= limit:
                    too_deep.append(child)
                else:
                    stack.append((child, depth + 1))
            child = child.next
    for node in too_deep:
        # Lexbor's text and destroy walks are iterative: safe at any depth.
        node.replace_with(node.text(deep=True, separator=" "))
    return bool(too_deep)


def join_url(base: str | None, raw: str) -> str | None:
    """``raw`` made absolute against ``base``; None when either is not a URL at all
    (``http://[zz`` raises ``ValueError`` in urllib): a bad link in a page is ignored."""
    try:
        absolute = urljoin(base, raw) if base else raw
        parts = urlsplit(absolute)
        _ = parts.hostname, parts.port  # both parse the netloc and may refuse it
    except ValueError:
        return None
    return absolute
