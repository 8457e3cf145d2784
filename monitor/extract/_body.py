"""Find the node that holds the article body (readability-style scoring).

Every paragraph-like block votes for its parent, and less for its grandparent and
further ancestors, with more weight for long, comma-rich text; a container's own
class name and its share of link text then adjust the vote. The winner is the node
whose descendants carry the most running prose, which is the article body on a news
page and rarely a comment thread or a list of related links (those are short, linky,
and usually already removed by ``_clean``).
"""

from __future__ import annotations

from dataclasses import dataclass

from selectolax.lexbor import LexborNode

from monitor.extract._clean import node_weight
from monitor.extract._patterns import class_weight

# Paragraph-like blocks, scanned first; the other blocks only when those are too few,
# which spares most pages a pass over every div.
PROSE = ("p", "pre", "blockquote", "br")
_OTHER_BLOCKS = "td, li, dd, div, section, article"
_WEAK_SCORE = 40.0
# Containers whose own text counts only when written directly in them (between <br>s).
_TEXT_CONTAINERS = frozenset({"div", "section", "article", "span", "font", "center", "main"})
_TAG_BONUS = {
    "article": 10, "main": 5, "div": 5, "section": 3, "pre": 3, "td": 3,
    "blockquote": 3, "form": -3, "ul": -3, "ol": -3, "dl": -3, "li": -3, "dd": -3,
    "h1": -5, "h2": -5, "h3": -5, "h4": -5, "th": -5, "table": -3, "body": -10,
}  # fmt: skip
_MIN_PARAGRAPH = 25
_TOP_N = 5
# A paragraph's vote for its parent, grandparent and further ancestors is divided by:
_DIVISORS = (1, 2, 6, 9, 12)
# A runner-up scoring this share of the top, with this many times its text, wins.
_HEAVY_SCORE = 0.6
_HEAVY_TEXT = 4


# A paragraph whose parent or grandparent is boilerplate (a comment, a related box)
# does not vote at all: comment threads are often longer than the article.
_VETO_LEVELS = 3


@dataclass(slots=True)
class Candidate:
    """A container and the votes it collected."""

    node: LexborNode
    score: float
    boilerplate: bool
    classes: str
    size: int = 0  # its text_size, read with its link density


def _candidate(node: LexborNode, tag: str) -> Candidate:
    weight, boilerplate, classes = node_weight(node, tag)
    return Candidate(node, _TAG_BONUS.get(tag, 0) + weight, boilerplate, classes)


def text_size(text: str) -> int:
    """Characters of ``text`` other than spaces and line breaks (templates indent a lot)."""
    return len(text) - text.count(" ") - text.count("\n")


def link_density(node: LexborNode, size: int | None = None) -> float:
    """Share of ``node``'s text that sits inside links (``size``: its ``text_size``)."""
    total = text_size(node.text(deep=True)) if size is None else size
    if total == 0:
        return 0.0
    # Sizes add up over a concatenation: one count of the links' joined text instead
    # of one per link (containers hold hundreds).
    linked = text_size("".join([a.text(deep=True) for a in node.css("a")]))
    return min(1.0, linked / total)


# The candidates a paragraph votes for, each with its vote's divisor, and the veto.
_Chain = tuple[list[tuple[Candidate, int]], bool]


def _ancestors(
    candidates: dict[int, Candidate], chains: dict[int, _Chain], start: LexborNode
) -> _Chain:
    """The candidates a paragraph whose container is ``start`` votes for (each with the
    divisor of its vote, paired once per container rather than per paragraph), and whether
    its vote is vetoed (a boilerplate container close above it)."""
    found = chains.get(start.mem_id)
    if found is not None:
        return found  # paragraphs of one article share their parent: walk it once
    chain: list[Candidate] = []
    node: LexborNode | None = start
    key = start.mem_id
    while node is not None:
        tag = node.tag
        if tag is None or tag == "html" or tag == "#document":
            break
        node_id = node.mem_id
        candidate = candidates.get(node_id)
        if candidate is None:
            candidate = candidates[node_id] = _candidate(node, tag)
        chain.append(candidate)
        if len(chain) == 5:
            break
        node = node.parent
    vetoed = any(candidate.boilerplate for candidate in chain[:_VETO_LEVELS])
    chains[key] = found = (list(zip(chain, _DIVISORS, strict=False)), vetoed)
    return found


def _scan(
    blocks: list[LexborNode],
    candidates: dict[int, Candidate],
    chains: dict[int, _Chain],
    voted: set[int],
) -> None:
    # Runs once per paragraph of the page: the cached chain lookup and the vote are
    # written inline (a Python call costs as much as reading a node's text).
    for block in blocks:
        tag = block.tag
        if tag == "br":
            # Prose laid out with <br>: the element holding it is the paragraph (its
            # own text only), counted once.
            parent = block.parent
            if parent is None or parent.tag == "p" or parent.mem_id in voted:
                continue
            block, own = parent, True
            voted.add(block.mem_id)
        else:
            own = tag in _TEXT_CONTAINERS
            if own and block.mem_id in voted:
                continue
        # Text written directly in a div makes that div the container of the prose.
        text = block.text(deep=not own)
        if len(text) < _MIN_PARAGRAPH:
            continue
        text = text.strip()
        if len(text) < _MIN_PARAGRAPH:
            continue
        start = block if own else block.parent
        if start is None:
            continue
        found = chains.get(start.mem_id)
        chain, vetoed = _ancestors(candidates, chains, start) if found is None else found
        if vetoed:
            continue
        score = 1 + text.count(",") + text.count("，") + min(len(text) // 100, 3)
        for candidate, divisor in chain:
            candidate.score += score / divisor


def score_candidates(
    root: LexborNode, prose: list[LexborNode] | None = None
) -> tuple[list[Candidate], list[Candidate]]:
    """Return the best containers, best first, with link density already applied, and
    every container that got a vote, in document order.

    ``prose``: the page's paragraph-like blocks (``PROSE``) when the caller already
    has them from a walk it needed anyway.
    """
    candidates: dict[int, Candidate] = {}
    chains: dict[int, _Chain] = {}
    voted: set[int] = set()
    _scan(root.css(", ".join(PROSE)) if prose is None else prose, candidates, chains, voted)
    if max((c.score for c in candidates.values()), default=0.0) < _WEAK_SCORE:
        # Few real paragraphs: the text sits in list items, cells or bare divs.
        _scan(root.css(_OTHER_BLOCKS), candidates, chains, voted)
    usable = (c for c in candidates.values() if not c.boilerplate)
    ranked = sorted(usable, key=lambda c: c.score, reverse=True)
    # Link density only lowers a score, so once the next raw score is below the best
    # adjusted one, no later candidate can win: most pages stop after one or two.
    best = 0.0
    adjusted: list[Candidate] = []
    for candidate in ranked[: _TOP_N * 2]:
        if candidate.score <= 0.75 * best:
            break  # 0.75: a parent this close still matters to pick_content
        candidate.size = size = text_size(candidate.node.text(deep=True))
        candidate.score *= 1 - link_density(candidate.node, size)
        best = max(best, candidate.score)
        adjusted.append(candidate)
    adjusted.sort(key=lambda c: c.score, reverse=True)
    # Votes come in paragraph order, so the dict holds containers in document order.
    return adjusted[:_TOP_N], list(candidates.values())


def _text_length(node: LexborNode) -> int:
    return text_size(node.text(deep=True))


def pick_content(root: LexborNode, prose: list[LexborNode] | None = None) -> list[LexborNode]:
    """Return the body's node(s) in document order: the best candidate and the siblings
    that look like more of the same article."""
    ranked, voted = score_candidates(root, prose)
    if not ranked:
        return [root]
    top = ranked[0]
    # A parent that scores nearly as well holds the article split into several columns.
    parent = top.node.parent
    for other in ranked[1:]:
        if (
            parent is not None
            and other.node.mem_id == parent.mem_id
            and other.score > 0.75 * top.score
        ):
            top = other
            break
    top = _heavier(top, ranked)
    chosen = _with_siblings(top, {c.node.mem_id: c.score for c in ranked})
    return _with_chunks(top, chosen, voted)


def _heavier(top: Candidate, ranked: list[Candidate]) -> Candidate:
    """A close runner-up that holds several times the top's text, outside it.

    A class name that says "rich text" or "content" lifts a small box (a contact
    block, a teaser) above the real body, whose score its paragraphs must earn.
    """
    around = None
    for other in ranked:
        if other is top or other.score < _HEAVY_SCORE * top.score:
            continue
        if other.size >= _HEAVY_TEXT * max(top.size, 1):
            around = _ancestor_ids(top.node) if around is None else around
            if other.node.mem_id not in around:
                return other
    return top


def _ancestor_ids(node: LexborNode, limit: int = 40) -> set[int]:
    found: set[int] = set()
    parent = node.parent
    while parent is not None and len(found) < limit:
        found.add(parent.mem_id)
        parent = parent.parent
    return found


def _same_class(top: Candidate, voted: list[Candidate]) -> list[LexborNode]:
    names = top.classes.split()
    if not names:
        return []
    tag = top.node.tag
    matches = [c.node for c in voted if c.node.tag == tag and c.classes == top.classes]
    if len(matches) < 2 and class_weight(names[0]) > 0:
        # Chunks often differ in a modifier ("article-body-text version-2"); the first
        # class name, when it names content, is what they share.
        first = names[0]
        matches = [c.node for c in voted if c.node.tag == tag and first in c.classes.split()]
    return matches


def _with_chunks(
    top: Candidate, chosen: list[LexborNode], voted: list[Candidate]
) -> list[LexborNode]:
    """Add the other chunks of a body split into same-classed blocks between ads or images.

    Page builders and news CMSs cut long articles into several containers that share
    one class; they are rarely siblings, so the sibling rule misses them. Each chunk
    holds paragraphs, so it is among the containers that got votes: no need to search
    the page again.
    """
    matches = _same_class(top, voted)
    if len(matches) < 2:
        return chosen
    chosen_ids = {node.mem_id for node in chosen}
    around = _ancestor_ids(top.node)
    result: list[LexborNode] = []
    for node in matches:
        if node.mem_id == top.node.mem_id:
            result.extend(chosen)
            continue
        if node.mem_id in around or node.mem_id in chosen_ids or _ancestor_ids(node) & chosen_ids:
            continue  # nested in (or around) what is already taken
        size = _text_length(node)
        if size > 0 and link_density(node, size) < 0.3:
            result.append(node)
            chosen_ids.add(node.mem_id)
    return result


def _with_siblings(top: Candidate, scores: dict[int, float]) -> list[LexborNode]:
    parent = top.node.parent
    if parent is None or parent.tag in ("html", None):
        return [top.node]
    threshold = max(10.0, top.score * 0.2)
    chosen: list[LexborNode] = []
    for sibling in parent.iter():
        if sibling.mem_id == top.node.mem_id or scores.get(sibling.mem_id, 0.0) >= threshold:
            chosen.append(sibling)
        elif sibling.tag == "p":
            length = _text_length(sibling)
            density = link_density(sibling, length)
            if (length > 80 and density < 0.25) or (
                0 < length <= 80 and density == 0 and sibling.text().rstrip().endswith(".")
            ):
                chosen.append(sibling)
    return chosen
