"""Hostile pages and queries: every stage ends, fast, with a result or a MonitorError.

Each test here failed on the code before the bounds (RecursionError, ValueError or
minutes of CPU).
"""

from __future__ import annotations

import random
import time

import pytest

from monitor.errors import QueryError
from monitor.extract import extract_article, extract_links
from monitor.rules import parse_query

PROSE = "<p>" + "Le conseil municipal a voté le budget, après un long débat. " * 8 + "</p>"


def test_a_thousand_nested_spans_give_an_article_not_a_recursion_error() -> None:
    html = f"<html><body>{PROSE}" + "<span>" * 1000 + "profond" + "</span>" * 1000
    article = extract_article(html + "</body></html>", "https://example.org/a")
    assert "conseil municipal" in article.text
    assert article.flattened


def test_twenty_thousand_nested_tables_are_extracted_in_bounded_time() -> None:
    html = "<html><body>" + PROSE + "<table><tr><td>" * 20_000 + "fond du puits</body></html>"
    assert len(html) > 300_000
    started = time.perf_counter()
    article = extract_article(html, "https://example.org/a")
    assert time.perf_counter() - started < 2.0
    assert "conseil municipal" in article.text
    assert article.flattened


def _assert_flattened_quickly(html: str) -> None:
    started = time.perf_counter()
    article = extract_article(html, "https://example.org/a")
    assert time.perf_counter() - started < 2.0
    assert article.flattened and "conseil municipal" in article.text


@pytest.mark.parametrize("tag", ["blockquote", "pre", "div", "b", "section"])
def test_any_deep_chain_is_flattened(tag: str) -> None:
    # blockquote and pre are also what the first walk selects: found all the same.
    _assert_flattened_quickly(f"<html><body>{PROSE}" + f"<{tag}>" * 3000 + "profond</body></html>")


@pytest.mark.parametrize("first", ["<br>", "<p>x</p>", "<script>1</script>", "<i></i>"])
def test_a_deep_chain_of_second_children_is_flattened(first: str) -> None:
    # The probe looks for first children only: here each level's first child is a
    # leaf and the chain goes on through the second; the leaves are as deep.
    _assert_flattened_quickly(
        f"<html><body>{PROSE}" + f"<span>{first}" * 3000 + "profond</body></html>"
    )


def test_a_page_just_under_the_depth_bound_is_not_flattened() -> None:
    # The 127th div has 128 element ancestors (<html> and <body> among them).
    for levels, flattened in ((126, False), (127, True)):
        html = f"<html><body>{PROSE}" + "<div>" * levels + "profond</body></html>"
        assert extract_article(html).flattened is flattened


def test_an_ordinary_page_is_not_flattened() -> None:
    article = extract_article(f"<html><body><div><div>{PROSE}</div></div></body></html>")
    assert not article.flattened


@pytest.mark.parametrize("bad", ["http://[zz", "https://[::1/x", "http://example.org:99999/a"])
def test_a_malformed_canonical_url_is_ignored(bad: str) -> None:
    html = (
        f'<html><head><link rel=canonical href="{bad}"><meta property="og:image" '
        f'content="{bad}"></head><body>{PROSE}</body></html>'
    )
    article = extract_article(html, "https://example.org/news/a-story")
    assert article.canonical_url is None
    assert article.image is None
    assert "conseil municipal" in article.text


def test_a_malformed_page_url_does_not_break_extraction() -> None:
    html = '<html><head><link rel=canonical href="/news/b"></head><body>' + PROSE
    assert "conseil" in extract_article(html, "http://[zz/news/a").text


LISTING = (
    "<html><head>{base}</head><body><h2><a href='/2024/05/une-histoire-de-budget-vote-123456'>"
    "Le budget de la ville est voté après un long débat</a></h2>"
    "<h2><a href='http://[zz/2024/05/un-lien-casse-de-la-page-654321'>Un lien cassé dans la"
    " page des articles</a></h2></body></html>"
)


def test_a_malformed_link_in_a_listing_page_is_skipped() -> None:
    links = extract_links(LISTING.format(base=""), "https://example.org/economie/")
    assert links == ["https://example.org/2024/05/une-histoire-de-budget-vote-123456"]


def test_a_malformed_base_href_is_ignored() -> None:
    html = LISTING.format(base='<base href="http://[zz">')
    links = extract_links(html, "https://example.org/economie/")
    assert links == ["https://example.org/2024/05/une-histoire-de-budget-vote-123456"]


# -- queries ----------------------------------------------------------------------------

TERMS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        (" NEAR/3 ".join(f"mot{i}" for i in range(1000)), "at most 256"),
        (" NEAR/3 ".join(f"mot{i}" for i in range(17)), "chain of more than 16"),
        (" ONEAR/3 ".join(f"mot{i}" for i in range(17)), "chain of more than 16"),
        (" OR ".join(f"mot{i}" for i in range(300)), "at most 256"),
        ("(" * 1000 + "Amazon" + ")" * 1000, "nested more than 32"),
        ("NOT " * 1000 + "Amazon", "more than 32"),
        ("-" * 1000 + "Amazon", "more than 32"),
    ],
)
def test_oversized_queries_are_refused_with_a_query_error(query: str, problem: str) -> None:
    started = time.perf_counter()
    with pytest.raises(QueryError, match=problem):
        parse_query(query)
    assert time.perf_counter() - started < 1.0


def test_a_sixteen_term_chain_is_accepted_and_matches() -> None:
    query = parse_query(" NEAR/2 ".join(f"mot{i}" for i in range(16)))
    text = " ".join(f"mot{i}" for i in range(16))
    assert query.match("", f"Début. {text}. Fin.", "fr") is not None


def test_a_ten_term_near_chain_on_two_thousand_words_is_fast() -> None:
    # NEAR/20: the old pairwise chain took ~10 s here (its spans multiplied per term).
    rng = random.Random(1)
    text = " ".join(rng.choice(TERMS) for _ in range(2000))
    query = parse_query(" NEAR/20 ".join(TERMS))
    started = time.perf_counter()
    assert query.match("", text, "en") is not None
    assert parse_query(" NEAR/20 ".join(TERMS)).match("", text.replace("kappa", "x"), "en") is None
    assert time.perf_counter() - started < 1.0


def test_a_three_term_chain_on_a_long_article_is_fast() -> None:
    # Dense terms: the old pairwise chain took 6 s here on a quiet machine (its spans
    # grew with the pairs within reach), the sliding window ~1.5 s, mostly analysis.
    rng = random.Random(2)
    filler = ["le", "conseil", "a", "voté", "le", "budget", "de", "la", "ville", "hier", "soir"]
    hot = ["Amazon", "IA", "licenciements"]
    words = [rng.choice(hot if rng.random() < 0.6 else filler) for _ in range(260_000)]
    text = " ".join(words)
    assert len(text) > 1_700_000
    query = parse_query("Amazon NEAR/5 IA NEAR/5 licenciements")
    started = time.perf_counter()
    assert query.match("", text, "fr") is not None
    assert time.perf_counter() - started < 4.0


@pytest.mark.parametrize(
    ("query", "text", "matches"),
    [
        (
            "Amazon NEAR/3 IA NEAR/3 licenciements",
            "Amazon mise sur l'IA et des licenciements",
            True,
        ),
        (
            "Amazon NEAR/1 IA NEAR/1 licenciements",
            "Amazon mise sur l'IA et des licenciements",
            False,
        ),
        # At most 1 + 1 words that are none of the three, in any order:
        ("Amazon NEAR/1 IA NEAR/1 licenciements", "licenciements, IA : Amazon tranche", True),
        (
            "Amazon ONEAR/2 IA ONEAR/2 licenciements",
            "Amazon mise sur l'IA et des licenciements",
            True,
        ),
        ("Amazon ONEAR/2 IA ONEAR/2 licenciements", "licenciements et IA chez Amazon", False),
        # A NEAR run after an ONEAR run takes it whole as its first member:
        ("Amazon ONEAR/0 Web NEAR/3 panne", "panne géante chez Amazon Web Services", True),
        ("Amazon ONEAR/0 Web NEAR/3 panne", "panne géante chez Web Amazon", False),
        ("Amazon NEAR/3 Amazon", "Amazon rachète un concurrent", False),
        ("Amazon NEAR/3 Amazon", "Amazon contre Amazon", True),
        # A term written three times wants three occurrences.
        ("grève NEAR/1 grève NEAR/1 grève", "grève, grève et grève", True),
        ("grève NEAR/1 grève NEAR/1 grève", "grève, grève et rien", False),
        ("grève NEAR/1 grève NEAR/1 grève", "grève a b grève c d e grève", False),
    ],
)
def test_proximity_chains(query: str, text: str, matches: bool) -> None:
    assert (parse_query(query).match("", text, "fr") is not None) is matches
