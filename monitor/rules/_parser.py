"""Tokens -> query tree, by recursive descent.

Precedence, loosest first: the implicit AND between terms (``AND`` may be written),
then ``OR`` (as in Google's alerts, ``a b OR c`` is a AND (b OR c)), then
``NEAR/n``/``ONEAR/n``, then ``NOT``/``-``, fields and parentheses, which apply to the
one term or group that follows them. Synonym groups from the config are expanded here,
once, so matching never has to think about them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.rules._analysis import (
    DEFAULT_LANGUAGES,
    STEMMERS,
    analyze_chunks,
    fold,
    query_keys,
    text_keys,
)
from monitor.rules._analyzed import BODY, TITLE
from monitor.rules._lexer import META_FIELDS, Token, fail, tokenize
from monitor.rules._matcher import (
    Exact,
    Field,
    Group,
    Meta,
    Near,
    Node,
    Not,
    Phrase,
    Prefix,
    Synonyms,
    Unit,
    Word,
)

# Deeper nesting than this is a generated or hostile query, not a person's.
MAX_DEPTH = 32
MAX_NEAR = 1000
# Terms of one proximity chain, and of a whole query: a person's query has a handful;
# the caps keep every walk of the tree, and its matching, short.
MAX_CHAIN = 16
MAX_TERMS = 256
# Levels of the parsed tree (groups, negations, proximity, fields, synonyms).
MAX_TREE_DEPTH = 64
DEPTH_PER_TOKEN = 3
_ENDS_TERM = frozenset({"EOF", "RPAREN", "OR", "AND", "NEAR", "ONEAR"})
_LANG_CODES = {name: code for code, name in STEMMERS.items()}


@dataclass(frozen=True, slots=True)
class _Member:
    """One entry of a synonym group, analysed chunk by chunk."""

    text: str
    chunks: tuple[tuple[tuple[str, str], ...], ...]

    @property
    def folded(self) -> tuple[str, ...]:
        return tuple(folded for words in self.chunks for _, folded in words)

    def node(self) -> Node:
        items = _items([list(words) for words in self.chunks], exact=False, prefix=False)
        return items[0] if len(items) == 1 else Phrase(self.text, tuple(items))


class SynonymTable:
    """The config's synonym groups, analysed once, and which groups each word belongs to.

    Finding a word's groups compares its stems with every member's: done once per
    distinct word, not once per occurrence (100k rules repeat a few thousand words).
    """

    __slots__ = ("_found", "_roots", "groups")

    def __init__(self, groups: tuple[tuple[_Member, ...], ...]) -> None:
        self.groups = groups
        self._found: dict[tuple[tuple[str, ...], str | None], tuple[_Member, ...]] = {}
        # Query text -> its tree: alerts written alike (and a config loaded again) are
        # parsed once. Trees are never changed once built, so rules may share one.
        self._roots: dict[str, Node] = {}

    def parsed(self, query: str) -> Node:
        """The tree of ``query`` with these synonyms (see :func:`parse`), parsed once."""
        root = self._roots.get(query)
        if root is None:
            root = parse(query, self)
            if len(self._roots) >= _PARSE_CACHE_LIMIT:
                self._roots.clear()
            self._roots[query] = root
        return root

    def members_of(self, folded: tuple[str, ...], lower: str | None) -> tuple[_Member, ...]:
        """The members of every group holding this word (or phrase: ``lower`` None)."""
        key = (folded, lower)
        found = self._found.get(key)
        if found is None:
            members: list[_Member] = []
            for group in self.groups:
                if any(_same(member, folded, lower) for member in group):
                    members += group
            found = tuple(members)
            if len(self._found) < _SYNONYM_CACHE_LIMIT:
                self._found[key] = found
        return found


_SYNONYM_CACHE_LIMIT = 100_000
_PARSE_CACHE_LIMIT = 200_000


def prepare_synonyms(groups: Sequence[Sequence[str]]) -> SynonymTable:
    """Analyse the config's synonym groups once; entries without a word are left out."""
    prepared = []
    for group in groups:
        members = []
        for entry in group:
            text = entry.strip().strip('"“”«»').strip()
            chunks = analyze_chunks(text)
            if chunks:
                members.append(_Member(text, tuple(tuple(words) for words in chunks)))
        if len(members) > 1:
            prepared.append(tuple(members))
    return SynonymTable(tuple(prepared))


def _items(
    chunks: list[list[tuple[str, str]]], exact: bool, prefix: bool
) -> list[Word | Exact | Prefix | Unit]:
    """One matcher per chunk of query text; ``prefix``: the last one is a prefix."""
    items: list[Word | Exact | Prefix | Unit] = []
    for i, words in enumerate(chunks):
        if len(words) > 1:
            joined = "'".join(low for low, _ in words)
            items.append(Unit(joined, tuple(folded for _, folded in words)))
            continue
        low, folded = words[0]
        if prefix and i == len(chunks) - 1:
            items.append(Prefix(low + "*", folded))
        elif exact:
            items.append(Exact(low, folded))
        else:
            items.append(Word(low, low, folded))
    return items


def _relabel(item: Word | Exact | Prefix | Unit, text: str) -> Word | Exact | Prefix | Unit:
    # A one-word term reports itself as the user wrote it.
    if isinstance(item, Word):
        return Word(text, item.lower, item.folded)
    if isinstance(item, Exact):
        return Exact(text, item.folded)
    if isinstance(item, Prefix):
        return Prefix(text, item.prefix)
    return Unit(text, item.folded)


def _flat(items: Sequence[Word | Exact | Prefix | Unit]) -> tuple[str, ...]:
    found: list[str] = []
    for item in items:
        if isinstance(item, Unit):
            found += item.folded
        elif isinstance(item, Word | Exact):
            found.append(item.folded)
    return tuple(found)


def parse(query: str, synonyms: SynonymTable) -> Node:
    """The tree of ``query``; raises QueryError saying where and what was expected."""
    parser = _Parser(query, synonyms)
    return parser.parse()


class _Parser:
    def __init__(self, query: str, synonyms: SynonymTable) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.at = 0
        self.synonyms = synonyms
        self.field: str | None = None

    # -- token stream ---------------------------------------------------------------------

    def peek(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        tok = self.tokens[self.at]
        self.at += 1
        return tok

    def last_end(self) -> int:
        return self.tokens[self.at - 1].end

    def text_from(self, start: int) -> str:
        return self.query[start : self.last_end()]

    def fail(self, pos: int, problem: str) -> Exception:
        return fail(self.query, pos, problem)

    # -- grammar --------------------------------------------------------------------------

    def parse(self) -> Node:
        if self.peek().kind == "EOF":
            raise self.fail(0, "the query is empty: expected at least one term")
        terms = sum(tok.kind in ("WORD", "PHRASE") for tok in self.tokens)
        if terms > MAX_TERMS:
            raise self.fail(0, f"the query has {terms} terms: at most {MAX_TERMS}")
        node = self.conjunction(0)
        tok = self.peek()
        if tok.kind == "RPAREN":
            raise self.fail(tok.pos, "unexpected ')': there is no '(' for it to close")
        # Each token adds at most three levels (a word: synonyms, phrase, word; an
        # operator, a field or a parenthesis: one), so a short query is not walked:
        # the walk was a tenth of parsing 100k rules. tests/test_rules_parse.py checks
        # the bound on generated queries.
        if DEPTH_PER_TOKEN * len(self.tokens) > MAX_TREE_DEPTH and (
            _tree_depth(node) > MAX_TREE_DEPTH
        ):
            raise self.fail(0, f"the query nests more than {MAX_TREE_DEPTH} levels deep")
        if not _looks_for_something(node):
            raise self.fail(0, "the query only excludes: expected at least one term to look for")
        return node

    def conjunction(self, depth: int) -> Node:
        start = self.peek().pos
        items: list[Node] = []
        while self.peek().kind not in ("EOF", "RPAREN"):
            tok = self.peek()
            if tok.kind == "AND":
                if not items:
                    raise self.fail(tok.pos, "expected a term before AND")
                self.take()
                if self.peek().kind in _ENDS_TERM:
                    raise self.fail(self.peek().pos, "expected a term after AND")
                continue
            items.append(self.disjunction(depth))
        if not items:
            raise self.fail(self.peek().pos, "empty group: expected a term inside '( )'")
        return items[0] if len(items) == 1 else Group(self.text_from(start), tuple(items), False)

    def disjunction(self, depth: int) -> Node:
        start = self.peek().pos
        items = [self.proximity(depth)]
        while self.peek().kind == "OR":
            self.take()
            if self.peek().kind in _ENDS_TERM:
                raise self.fail(self.peek().pos, "expected a term after OR")
            items.append(self.proximity(depth))
        return items[0] if len(items) == 1 else Group(self.text_from(start), tuple(items), True)

    def proximity(self, depth: int) -> Node:
        start = self.peek().pos
        first = self.unary(depth)
        if self.peek().kind not in ("NEAR", "ONEAR"):
            return first
        # One chain node per run of the same operator: a NEAR run after an ONEAR run
        # takes the ONEAR chain as its first member.
        members: list[Node] = [first]
        distances: list[int] = []
        kind = self.peek().kind
        count = 1
        while self.peek().kind in ("NEAR", "ONEAR"):
            op = self.take()
            if self.peek().kind in _ENDS_TERM:
                raise self.fail(self.peek().pos, f"expected a term after {op.text}")
            right = self.unary(depth)
            for side in (members[-1], right):
                if not side.positional:
                    raise self.fail(
                        op.pos,
                        f"{op.kind} joins words, prefixes, phrases or ( a OR b ) groups of"
                        f" them; {side.text!r} is not one",
                    )
            if op.distance > MAX_NEAR:
                raise self.fail(op.pos, f"{op.kind}/{op.distance} is too far: at most {MAX_NEAR}")
            count += 1
            if count > MAX_CHAIN:
                raise self.fail(
                    op.pos, f"a NEAR/ONEAR chain of more than {MAX_CHAIN} terms: split the query"
                )
            if op.kind != kind:
                members = [self.chain(members, distances, kind, start, op.pos)]
                distances, kind = [], op.kind
            members.append(right)
            distances.append(op.distance)
        return self.chain(members, distances, kind, start, self.last_end())

    def chain(
        self, members: list[Node], distances: list[int], kind: str, start: int, end: int
    ) -> Node:
        text = self.query[start:end].rstrip()
        return Near(text, tuple(members), tuple(distances), kind == "ONEAR")

    def unary(self, depth: int) -> Node:
        tok = self.peek()
        if tok.kind in ("NOT", "MINUS"):
            self.take()
            if self.peek().kind in _ENDS_TERM:
                raise self.fail(self.peek().pos, f"expected a term after {tok.text}")
            if depth >= MAX_DEPTH:
                raise self.fail(tok.pos, f"more than {MAX_DEPTH} nested negations or groups")
            child = self.unary(depth + 1)
            return Not(self.text_from(tok.pos), child)
        return self.primary(depth)

    def primary(self, depth: int) -> Node:
        tok = self.peek()
        if tok.kind == "FIELD":
            return self.fielded(depth)
        if tok.kind == "LPAREN":
            if depth >= MAX_DEPTH:
                raise self.fail(tok.pos, f"parentheses nested more than {MAX_DEPTH} deep")
            self.take()
            node = self.conjunction(depth + 1)
            if self.peek().kind != "RPAREN":
                raise self.fail(tok.pos, "unclosed '(': expected ')' to close it")
            self.take()
            return node
        if tok.kind == "PHRASE":
            return self.phrase(self.take())
        if tok.kind == "WORD":
            return self.word(self.take())
        if tok.kind == "RPAREN":
            raise self.fail(tok.pos, "unexpected ')': expected a term")
        if tok.kind == "EOF":
            raise self.fail(tok.pos, "the query ends too soon: expected a term")
        raise self.fail(tok.pos, f"expected a term before {tok.text}")

    def fielded(self, depth: int) -> Node:
        tok = self.take()
        name = tok.text
        if self.field is not None:
            raise self.fail(tok.pos, f"{name}: cannot go inside {self.field}:")
        if self.peek().kind in _ENDS_TERM:
            raise self.fail(self.peek().pos, f"expected a value after {name}:")
        if name in META_FIELDS:
            values = self.meta_values(name)
            return Meta(self.text_from(tok.pos), name, values)
        self.field = name
        try:
            child = self.unary(depth)
        finally:
            self.field = None
        return Field(self.text_from(tok.pos), TITLE if name == "title" else BODY, child)

    def meta_values(self, name: str) -> tuple[str, ...]:
        tok = self.take()
        if tok.kind in ("WORD", "PHRASE"):
            return (self.meta_value(name, tok),)
        if tok.kind != "LPAREN":
            raise self.fail(tok.pos, f"expected a value after {name}:")
        values = []
        while True:
            value = self.take()
            if value.kind not in ("WORD", "PHRASE"):
                raise self.fail(value.pos, f"expected a value inside {name}:( )")
            values.append(self.meta_value(name, value))
            sep = self.take()
            if sep.kind == "RPAREN":
                return tuple(values)
            if sep.kind != "OR":
                raise self.fail(sep.pos, f"expected OR or ')' between {name}: values")

    def meta_value(self, name: str, tok: Token) -> str:
        value = fold(tok.text.strip())
        if name == "url":
            value = tok.text.strip().casefold()
        elif name == "site":
            value = value.split("://", 1)[-1].strip("/").removeprefix("www.")
        elif name == "lang":
            value = _LANG_CODES.get(value, value.replace("_", "-").split("-", 1)[0])
            if not (value.isalpha() and 2 <= len(value) <= 3):
                raise self.fail(tok.pos, "expected a language code such as fr or en after lang:")
        if not value.rstrip("*"):
            raise self.fail(tok.pos, f"expected a value after {name}:")
        return value

    # -- leaves ---------------------------------------------------------------------------

    def word(self, tok: Token) -> Node:
        text = tok.text
        core = text.rstrip("*")
        if "*" in core:
            raise self.fail(tok.pos + core.index("*"), "'*' only goes at the end of a word")
        chunks = analyze_chunks(core)
        if not chunks:
            raise self.fail(tok.pos, f"{text!r} has no letters or digits to search for")
        prefix = core != text
        if prefix:
            self.check_prefix(tok, chunks)
        items = _items(chunks, exact=False, prefix=prefix)
        if len(items) == 1:
            item = _relabel(items[0], text)
            if isinstance(item, Word):
                return self.expand(item, (item.folded,), item.lower)
            return item
        node = Phrase(text, tuple(items))
        return node if prefix else self.expand(node, _flat(items), None)

    def phrase(self, tok: Token) -> Node:
        text = self.query[tok.pos : tok.end]
        items: list[Word | Exact | Prefix | Unit] = []
        for part in tok.text.split():
            core = part.rstrip("*")
            if "*" in core:
                raise self.fail(tok.pos, f"'*' only goes at the end of a word, not in {part!r}")
            chunks = analyze_chunks(core)
            if core != part:
                self.check_prefix(tok, chunks)
            items += _items(chunks, exact=True, prefix=core != part)
        if not items:
            raise self.fail(tok.pos, "empty phrase: expected words between the quotes")
        if len(items) == 1:
            return _relabel(items[0], text)
        node = Phrase(text, tuple(items))
        if any(isinstance(item, Prefix) for item in items):
            return node
        return self.expand(node, _flat(items), None)

    def check_prefix(self, tok: Token, chunks: list[list[tuple[str, str]]]) -> None:
        if not chunks or len(chunks[-1]) > 1:
            raise self.fail(tok.pos, "'*' must follow a plain word, without an apostrophe")
        if len(chunks[-1][0][1]) < 2:
            raise self.fail(tok.pos, "a prefix needs at least 2 letters before '*'")

    def expand(self, node: Node, folded: tuple[str, ...], lower: str | None) -> Node:
        found = self.synonyms.members_of(folded, lower)
        if not found:
            return node
        seen = {folded}
        alternatives = [node]
        for member in found:
            if member.folded not in seen:
                seen.add(member.folded)
                alternatives.append(member.node())
        return Synonyms(node.text, tuple(alternatives))


def _same(member: _Member, folded: tuple[str, ...], lower: str | None) -> bool:
    # "licenciement" belongs to a group listing "licenciements": same stem, same word.
    if member.folded == folded:
        return True
    if lower is None or len(member.chunks) != 1 or len(member.chunks[0]) != 1:
        return False
    other = member.chunks[0][0][0]
    return any(
        set(query_keys(lang, lower)) & set(text_keys(lang, other)) for lang in DEFAULT_LANGUAGES
    )


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Group):
        return node.children
    if isinstance(node, Near):
        return node.members
    if isinstance(node, Phrase):
        return node.items
    if isinstance(node, Not | Field):
        return (node.child,)
    return ()


def _tree_depth(root: Node) -> int:
    """Levels of the tree, counted without recursing (it may be deeper than Python allows)."""
    deepest = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in _children(node))
    return deepest


def _looks_for_something(node: Node) -> bool:
    """False when the node can match an article without finding anything in it."""
    if isinstance(node, Not):
        return False
    if isinstance(node, Group) and not isinstance(node, Synonyms):
        parts = [_looks_for_something(c) for c in node.children]
        return all(parts) if node.any_of else any(parts)
    if isinstance(node, Field):
        return _looks_for_something(node.child)
    return True
