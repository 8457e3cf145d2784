"""Recognise what is never article text inside the body the scorer chose.

Forms, media, navigation, hidden elements and template parts named as boilerplate
are left out while the chosen body is written out as text, and only there: removed
page-wide, such names would also take page wrappers with unlucky names
("pg-right-rail-tall" around a whole article), while inside an article body they
reliably mark a share bar, a related-links box or an ad slot.
"""

from __future__ import annotations

from collections.abc import Callable

from selectolax.lexbor import LexborNode

from monitor.extract._patterns import class_weight

JUNK_TAGS = frozenset([
    "script", "style", "noscript", "template", "svg", "iframe", "button", "select",
    "input", "textarea", "canvas", "object", "embed", "map", "audio", "video",
    "dialog", "link", "meta", "math", "picture", "source",
])  # fmt: skip
_STRUCTURAL_TAGS = frozenset({"nav", "footer", "aside", "header", "figcaption"})
_STRUCTURAL_ROLES = frozenset(
    {"navigation", "contentinfo", "complementary", "banner", "dialog", "alert", "search"}
)
# A furniture-named part is left out only when it is a small share of the body and
# short: page builders also name every block of an article "widget" (one per
# paragraph), and a part with this many characters is more text than furniture.
_SOFT_SHARE = 0.3
_SOFT_KEEP = 800
# Tags left out whatever their attributes say.
ALWAYS_LEFT_OUT = JUNK_TAGS | _STRUCTURAL_TAGS
# The attributes the rules below read: an element with none of them is never doomed
# for its attributes, and most elements of a body (links, emphasis) have none.
RULE_KEYS = frozenset({"class", "id", "hidden", "aria-hidden", "itemprop", "role", "style"})
_HIDDEN_STYLE = ("display:none", "display: none", "visibility:hidden", "visibility: hidden")


def label(node: LexborNode, attrs: dict[str, str | None] | None = None) -> str:
    """``class`` and ``id`` of ``node`` joined by a space (the key ``class_weight`` scores);
    ``attrs``: its attributes, when the caller already has them."""
    if attrs is None:
        attrs = node.attributes
    return f"{attrs.get('class') or ''} {attrs.get('id') or ''}"


# The attributes _structural reads: an element with none of them is structural by
# its tag only (most are: a class and an href), so the five lookups are skipped.
_STRUCTURAL_KEYS = frozenset({"hidden", "aria-hidden", "itemprop", "role", "style"})


def _structural(tag: str, attrs: dict[str, str | None]) -> bool:
    if tag in _STRUCTURAL_TAGS:
        return True
    if _STRUCTURAL_KEYS.isdisjoint(attrs):
        return False
    if (
        "hidden" in attrs
        or attrs.get("aria-hidden") == "true"
        or attrs.get("itemprop") == "comment"
    ):
        return True
    if attrs.get("role") in _STRUCTURAL_ROLES:
        return True
    style = attrs.get("style")
    if not style:
        return False
    lowered = style.lower()
    return any(hidden in lowered for hidden in _HIDDEN_STYLE)


def doomed(node: LexborNode, tag: str, total: Callable[[], int]) -> bool:
    """Whether ``node`` (an element named ``tag`` inside a body whose text is
    ``total()`` characters long) is boilerplate to leave out, with everything under it."""
    if tag in ALWAYS_LEFT_OUT:
        return True
    attrs = node.attributes
    return bool(attrs) and doomed_by(node, tag, attrs, total)


def doomed_by(
    node: LexborNode, tag: str, attrs: dict[str, str | None], total: Callable[[], int]
) -> bool:
    """``doomed`` for an element whose tag is not in ``ALWAYS_LEFT_OUT``, from its
    attributes ``attrs`` (only those named in ``RULE_KEYS`` matter)."""
    if _structural(tag, attrs):
        return True
    if "class" not in attrs and "id" not in attrs:
        return False
    weight = class_weight(label(node, attrs))
    if weight <= -50:
        return attrs.get("itemprop") != "articleBody"
    # Furniture names ("widget", "banner") also wrap whole bodies, or each of their
    # paragraphs, in page builders: such a part goes only when small (see above).
    if weight >= 0:
        return False
    size = len(node.text(deep=True))
    return size < _SOFT_SHARE * total() and size < _SOFT_KEEP


def node_weight(node: LexborNode, tag: str) -> tuple[int, bool, str]:
    """``node``'s class weight (plus 40 when it says it is the article body), whether it
    is a part that never holds article text, and its ``class``: one read of its
    attributes. ``tag``: the node's tag, which the caller has already read."""
    attrs = node.attributes
    if not attrs:
        return 0, tag in _STRUCTURAL_TAGS, ""
    classes = attrs.get("class") or ""
    weight = class_weight(label(node, attrs))
    if attrs.get("itemprop") == "articleBody":
        return weight + 40, False, classes
    return weight, weight <= -50 or _structural(tag, attrs), classes
