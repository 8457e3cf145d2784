"""What an article must contain for a query to have a chance: the index's filing keys.

From a query tree, ``required`` derives *clauses*: each is a set of alternatives
(*anchors*: a word, an exact word, a prefix, a metadata value), at least one of which
must be in any article the query matches. A NOT says nothing about what is present and
yields none; an OR yields one clause joining one clause of each branch. The index
files each rule under its three cheapest clauses (see ``RuleIndex``).
"""

from __future__ import annotations

from monitor.rules._analysis import fold
from monitor.rules._matcher import (
    Exact,
    Field,
    Group,
    Meta,
    Near,
    Node,
    Phrase,
    Prefix,
    Unit,
    Word,
)

# (kind, value, cost): ("w", lower) a stemmed word, ("x", folded) an exact word,
# ("p", folded) a prefix, ("m", "field=value") a metadata value; cost guesses how many
# articles the anchor lets through.
Anchor = tuple[str, str, float]
Clause = tuple[Anchor, ...]

# Words so frequent in French or English news that a rule filed under them would be a
# candidate for nearly every article. Not stop words: they are still matched, only
# not chosen as the word a rule waits for.
_FREQUENT_WORDS = """le la les un une des de du et en au aux ce ces cette il elle ils elles
    on nous vous je tu se sa son ses leur leurs qui que quoi dont ou où mais donc or ni car
    pour par sur dans avec sans sous entre vers chez plus moins très pas ne est sont été
    être avoir ont fait faire dit selon aussi comme tout tous toute toutes même ans an jour
    the a an of to in and or for on at by with from as is are was were be been has have
    had it its this that these those he she they we you his her their not but if than
    then so said says will would can could new one two year years more most also after
    over into about up out who which what when"""
_FREQUENT = frozenset(fold(w) for w in _FREQUENT_WORDS.split())
_META_COST = {"lang": 100.0, "tag": 40.0, "source": 10.0, "site": 10.0}


def required(node: Node) -> list[Clause]:
    """Clauses an article must satisfy for ``node`` to match it (none: anything may match)."""
    if isinstance(node, Word):
        return [(("w", node.lower, _word_cost(node.folded, node.text)),)]
    if isinstance(node, Exact):
        return [(("x", node.folded, 0.8 * _word_cost(node.folded, node.text)),)]
    if isinstance(node, Unit):
        return [(("x", node.folded[0], 0.8 * _word_cost(node.folded[0], node.text)),)]
    if isinstance(node, Prefix):
        return [(("p", node.prefix, max(3.0, 30.0 - 3 * len(node.prefix))),)]
    if isinstance(node, Phrase):
        return [clause for item in node.items for clause in required(item)]
    if isinstance(node, Near):
        return [clause for member in node.members for clause in required(member)]
    if isinstance(node, Field):
        return required(node.child)
    if isinstance(node, Meta):
        if node.field == "url" or any(v.endswith("*") for v in node.values):
            return []
        cost = _META_COST.get(node.field, 10.0)
        return [tuple(("m", f"{node.field}={value}", cost) for value in node.values)]
    if isinstance(node, Group):
        parts = [required(child) for child in node.children]
        if not node.any_of:
            return [clause for part in parts for clause in part]
        if not all(parts):
            return []
        return [tuple(dict.fromkeys(a for part in parts for a in cheapest(part, 1)[0]))]
    return []  # NOT: an absent word says nothing about what is present


def sufficient(node: Node) -> bool:
    """Whether an article satisfying every clause of ``required(node)`` surely matches.

    So for words (stemmed or exact) joined by AND, and OR groups of such words: each
    clause is then one of them, and the index wakes a word's anchor from an article's
    chunks by the very keys the word's own test looks up. Anything else (a phrase,
    NEAR, NOT, a field, a prefix, metadata) asks more than its clauses tell.
    """
    if isinstance(node, Word | Exact):
        return True
    if isinstance(node, Group):
        if node.any_of:
            return all(isinstance(child, Word | Exact) for child in node.children)
        return all(sufficient(child) for child in node.children)
    return False


def cheapest(clauses: list[Clause], count: int) -> list[Clause]:
    """The ``count`` clauses that should let the fewest articles through, cheapest first."""
    distinct = list(dict.fromkeys(clauses))
    return sorted(distinct, key=lambda c: sum(a[2] for a in c))[:count]


def _word_cost(folded: str, written: str) -> float:
    # Without statistics on the articles to come: frequent words let nearly everything
    # through, short words much, long words little, and a capitalised word is most
    # likely a name, rarer than any common noun of its length.
    if folded in _FREQUENT:
        return 50.0
    cost = max(1.0, 12.0 - len(folded))
    return cost / 3 if written.lstrip('"“«„ ')[:1].isupper() else cost
