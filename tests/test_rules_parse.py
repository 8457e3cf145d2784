"""Bad queries: the error says where (column and QueryError.position) and what was expected.

Also the precedence users rely on, checked through what matches rather than through
the parser's insides.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.errors import MonitorError, QueryError
from monitor.rules import parse_query
from monitor.rules._lexer import tokenize
from monitor.rules._parser import DEPTH_PER_TOKEN, _tree_depth

# (query, 0-based position of the culprit, words the message must contain)
ERRORS = [
    ("", 0, "empty"),
    ("   ", 0, "empty"),
    ("Amazon (IA OR", 13, "expected a term after OR"),
    ("Amazon (IA", 7, "expected ')'"),
    ("Amazon IA)", 9, "no '(' for it to close"),
    ("()", 1, "empty group"),
    ('Amazon "lettre ouverte', 7, "unclosed quote"),
    ('Amazon ""', 7, "empty phrase"),
    ("OR Amazon", 0, "expected a term before OR"),
    ("Amazon OR", 9, "expected a term after OR"),
    ("Amazon OR OR IA", 10, "expected a term after OR"),
    ("Amazon AND", 10, "expected a term after AND"),
    ("AND Amazon", 0, "expected a term before AND"),
    ("Amazon NOT", 10, "expected a term after NOT"),
    ("Amazon - IA", 7, "right after '-'"),
    ("Amazon NEAR IA", 7, "NEAR/5"),
    ("Amazon NEAR/x IA", 7, "NEAR/5"),
    ("Amazon NEAR/5", 13, "expected a term after NEAR/5"),
    ("Amazon NEAR/5000 IA", 7, "too far"),
    ("(Amazon IA) NEAR/3 grève", 12, "NEAR joins words"),
    ("Amazon NEAR/3 -grève", 7, "NEAR joins words"),
    ("Amazon NEAR/3 site:lemonde.fr", 7, "NEAR joins words"),
    ("titel:Amazon", 0, "unknown field 'titel:'"),
    ("Amazon title:", 13, "expected a value after title:"),
    ("title:(body:Amazon)", 7, "body: cannot go inside title:"),
    ("site:", 5, "expected a value after site:"),
    ("site:(lemonde.fr liberation.fr)", 17, "expected OR or ')'"),
    ("lang:123", 5, "language code"),
    ("Am*zon", 2, "'*' only goes at the end"),
    ("a*", 0, "at least 2 letters"),
    ("Amazon &", 7, "no letters or digits"),
    ("-Amazon", 0, "only excludes"),
    ("-Amazon OR -Google", 0, "only excludes"),
    ("NOT (Amazon IA)", 0, "only excludes"),
    ("Amazon »", 7, "no opening quote"),
    ("(" * 40 + "Amazon" + ")" * 40, 32, "nested more than 32"),
]


@pytest.mark.parametrize(("query", "position", "expected"), ERRORS, ids=[e[0] for e in ERRORS])
def test_a_bad_query_says_where_and_what_was_expected(
    query: str, position: int, expected: str
) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    error = caught.value
    assert isinstance(error, MonitorError)
    assert error.kind == "query"
    assert error.position == position
    assert error.query == query
    assert expected in str(error)
    assert f"column {position + 1}" in str(error)


GOOD = [
    "Amazon IA licenciements",
    "Amazon (IA OR AI) -grève",
    '"intelligence artificielle" NEAR/5 Amazon',
    "title:Amazon body:(licenciements OR layoffs)",
    "site:lemonde.fr lang:fr Amazon*",
    "https://www.lemonde.fr",  # a URL is text to search for, not a field
    "10:30 Amazon",
    "Amazon AND NOT grève",
    "-(Amazon NEAR/2 grève) Amazon",
]


@pytest.mark.parametrize("query", GOOD)
def test_good_queries_parse(query: str) -> None:
    assert parse_query(query).text == query


# Precedence, observed: (query, text, fires?)
PRECEDENCE = [
    # OR binds tighter than the implicit AND: a b OR c = a AND (b OR c)
    ("Amazon IA OR grève", "Amazon et la grève", True),
    ("Amazon IA OR grève", "La grève et l'IA", False),
    # NOT applies to the term or group right after it
    ("NOT grève Amazon", "Amazon recrute", True),
    ("NOT grève Amazon", "Amazon et la grève", False),
    ("-grève OR IA Amazon", "Amazon, la grève et l'IA", True),
    ("NOT (grève OR IA) Amazon", "Amazon et l'IA", False),
    # explicit AND is the same as a space
    ("Amazon AND grève OR IA", "Amazon et l'IA", True),
]


@pytest.mark.parametrize(("query", "text", "fires"), PRECEDENCE)
def test_precedence(query: str, text: str, fires: bool) -> None:
    assert (parse_query(query).match("", text, "fr") is not None) == fires


_SYNONYMS = [["IA", "intelligence artificielle", "AI"], ["licenciements", "plan social"]]
_LEAVES = ["Amazon", "IA", "licenciements", "aujourd'hui", '"plan social"', "Amaz*", "l'IA-là"]


def _nested(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    # Nesting that costs the fewest tokens per level: a negation, a field, an OR.
    return st.one_of(
        inner.map(lambda x: "-" + x),
        inner.map(lambda x: "NOT " + x),
        inner.map(lambda x: "title:" + x),
        st.tuples(inner, inner).map(lambda t: f"({t[0]} OR {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]} {t[1]})"),
        st.tuples(st.sampled_from(_LEAVES), st.sampled_from(_LEAVES)).map(
            lambda t: f"{t[0]} NEAR/3 {t[1]}"
        ),
    )


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.sampled_from(_LEAVES), _nested, max_leaves=12), st.booleans())
def test_a_query_is_never_deeper_than_three_levels_a_token(query: str, synonyms: bool) -> None:
    # The parser walks the tree for its depth only past this bound, so it must hold.
    try:
        parsed = parse_query(query, _SYNONYMS if synonyms else ())
    except QueryError:
        return
    assert _tree_depth(parsed._root) <= DEPTH_PER_TOKEN * len(tokenize(query))
