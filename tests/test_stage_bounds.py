"""Hostile pages and queries: every stage ends, fast, with a result or a MonitorError.

Each test here failed on the code before the bounds (RecursionError, ValueError or
minutes of CPU).
"""

from __future__ import annotations

import time

import pytest

from monitor.extract import extract_article, extract_links

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
