"""Pages built by scripts: the body read from JSON-LD ``articleBody`` or embedded state.

Each fixture in ``tests/fixtures/scripts`` is a page as such a site serves it: an
empty or teaser DOM, the article in a script. The article must come out whole, say
where it came from, and hostile blobs must cost nothing and lose nothing.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from monitor.extract import article_to_dict, extract_article
from monitor.extract._state import MAX_STATE_CHARS

FIXTURES = Path(__file__).parent / "fixtures" / "scripts"


def _extract(name: str, url: str = "https://news.example.org/a/1") -> dict[str, object]:
    return article_to_dict(extract_article((FIXTURES / name).read_bytes(), url))


@pytest.mark.parametrize(
    ("name", "source", "first", "last", "absent"),
    [
        (
            "fr_jsonld_only.html", "json-ld",
            "Le conseil municipal a adopté jeudi soir",
            "avant d'entrer en vigueur le 1er janvier.",
            ["Activez JavaScript", "<p>"],
        ),
        (
            "en_next_data.html", "next-data",
            "Single tickets on the harbour ferry will cost £4.80",
            "gathered more than six thousand signatures.",
            ["Another rise!", "lifeboat hero", "<p>"],
        ),
        (
            "fr_initial_state.html", "json-state",
            "La préfecture a placé vendredi quarante communes",
            "par l'Office français de la biodiversité.",
            ["Chargement", "dataLayer"],
        ),
    ],
)  # fmt: skip
def test_the_body_a_script_writes_in_is_read_from_its_json(
    name: str, source: str, first: str, last: str, absent: list[str]
) -> None:
    got = _extract(name)
    text = str(got["text"])
    assert got["body_source"] == source
    assert got["quality"] == "ok"
    assert text.startswith(first) and text.endswith(last)
    # Paragraphs stay paragraphs, HTML is reduced to text, comments and teasers stay out.
    assert text.count("\n\n") >= 3
    for unwanted in absent:
        assert unwanted not in text


def test_the_json_ld_page_keeps_its_metadata() -> None:
    got = _extract("fr_jsonld_only.html")
    assert got["title"] == "La ville adopte un budget d'austérité"
    assert got["authors"] == ["Claire Dumas"]
    assert got["published"] == "2026-11-30T18:05:00+01:00"
    assert got["language"] == "fr"


def test_a_full_dom_body_wins_over_shorter_script_copies() -> None:
    got = _extract("en_full_dom.html")
    assert got["body_source"] == "dom"
    assert str(got["text"]).startswith("The central library will open on Sundays from January,")
    assert "newsletter" not in str(got["text"])


def _shell(script: str, teaser: str = "<p>Loading…</p>") -> str:
    return (
        f"<html><head><title>T</title></head><body><div id=app>{teaser}</div>{script}</body></html>"
    )


PROSE = "The mayor said the new tram line would open in the spring of next year. " * 8


@pytest.mark.parametrize(
    "script",
    [
        '<script id="__NEXT_DATA__" type="application/json">{"props": {"body": "unterminated',
        '<script id="__NEXT_DATA__" type="application/json">' + "[" * 100_000 + "]" * 100_000,
        "<script>window.__STATE__ = {body: 'JavaScript, not JSON'};</script>",
        "<script>var x = '__not_state__'; window.__APP__ = JSON.parse('{}');</script>",
        '<script type="application/json">' + json.dumps({"img": "QUJD" * 50_000}) + "</script>",
        '<script type="application/json">' + json.dumps(["id-" + str(i) for i in range(5000)]),
    ],
    ids=["truncated", "deep", "js-literal", "odd-assignment", "base64", "id-list"],
)
def test_hostile_state_blobs_are_ignored_quickly(script: str) -> None:
    started = time.process_time()
    article = extract_article(_shell(script), "https://news.example.org/a/1")
    assert time.process_time() - started < 1.0
    assert article.body_source == "dom"
    assert article.quality in ("empty", "short")


def test_an_oversized_state_blob_is_not_parsed() -> None:
    blob = json.dumps({"body": PROSE, "pad": "x" * MAX_STATE_CHARS})
    page = _shell(f'<script id="__NEXT_DATA__" type="application/json">{blob}</script>')
    assert extract_article(page).body_source == "dom"
    # The same article in a blob within the cap is read.
    small = json.dumps({"body": PROSE, "pad": "x" * 1000})
    page = _shell(f'<script id="__NEXT_DATA__" type="application/json">{small}</script>')
    assert extract_article(page).body_source == "next-data"


@pytest.mark.parametrize(
    "script",
    [
        'window.__STATE__ = {"a": 1}',
        'window [ "__APOLLO__" ] = {}',
        "var x = 1; const   __DATA__ = {}",
        "__typename: 1; window.INITIAL_PROPS = {}; let __X__ = 2",
        "letter__A__ = 1; window.\n.__B__= {}",
        "window.___A__ = 1",
        "",
    ],
)
def test_the_assignment_search_finds_what_the_full_pattern_finds(script: str) -> None:
    from monitor.extract._state import _ASSIGNMENT, _assignment

    expected = _ASSIGNMENT.search(script)
    found = _assignment(script)
    assert (found and (found.span(), found.groups())) == (
        expected and (expected.span(), expected.groups())
    )
