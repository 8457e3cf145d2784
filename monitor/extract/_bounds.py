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
# Matches the elements with at least MAX_DEPTH element ancestors (<html> included)
# that are their parent's first element child and hold no element: there is one
# exactly when any element nests that deep (the first element child of a too-deep
# element's parent is as deep, and so is the end of the chain of first children
# below it). Lexbor matches it right to left, from every element up its ancestors,
# so the cost is the sum of the page's depths; the last step's conditions stop most
# elements at once (a quarter of the probe's cost). A walk of its own in Python
# would cost more than the probe.
_LAST_STEP = ":first-child:not(:has(*))"
DEEP_PROBE = " > ".join(["*"] * (MAX_DEPTH + 1)) + _LAST_STEP
# The same probe for half the depth, tried first: Lexbor parses a selector on every
# call, and the full probe's 129 steps cost it some 35 µs a page, more than the match
# itself on a small page. A page nesting MAX_DEPTH deep nests half as deep too, and
# none of the 893 corpus pages nests even 56 deep, so the full probe runs on
# almost none.
_HALF_PROBE = " > ".join(["*"] * (MAX_DEPTH // 2 + 1)) + _LAST_STEP


def too_deep(tree: LexborHTMLParser) -> bool:
    """Whether any element of ``tree`` nests ``MAX_DEPTH`` levels deep or more."""
    return tree.css_first(_HALF_PROBE) is not None and tree.css_first(DEEP_PROBE) is not None


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
