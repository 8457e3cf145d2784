"""monitor.extract.extract_links: article links of a listing page (``kind: page``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import ExtractError
from monitor.extract import extract_links

LISTING = (Path(__file__).parent / "fixtures" / "extract" / "listing_fr.html").read_bytes()
BASE = "https://quotidien.example.fr/economie/"
SITE = "https://quotidien.example.fr"


def test_listing_page_gives_its_articles_in_page_order() -> None:
    assert extract_links(LISTING, BASE) == [
        f"{SITE}/economie/2024/05/21/la-conserverie-de-douarnenez-embauche-trente-saisonniers",
        # relative to <base href>, fragment dropped
        f"{SITE}/economie/2024/05/21/port-de-lorient-record-de-debarquements.html",
        # listed twice (headline and "Lire la suite"), returned once
        f"{SITE}/economie/article-48213",
        # an image-and-text teaser outside any heading
        f"{SITE}/economie/2024/05/20/un-nouveau-chantier-naval-a-brest",
    ]


@pytest.mark.parametrize(
    "unwanted",
    [
        f"{SITE}/",  # home
        f"{SITE}/politique/",  # navigation
        f"{SITE}/tag/emploi/",  # tag cloud
        f"{SITE}/economie/page/2/",  # pagination
        f"{SITE}/mentions-legales",  # footer
        f"{SITE}/economie/2024/05/01/un-article-dans-le-pied-de-page-de-la-page",  # in <footer>
        "https://www.facebook.com/lequotidien",  # another site
        "mailto:redaction@quotidien.example.fr",
    ],
)
def test_navigation_footer_tags_and_other_sites_are_not_taken(unwanted: str) -> None:
    assert unwanted not in extract_links(LISTING, BASE)


def test_selector_replaces_the_scoring() -> None:
    assert extract_links(LISTING, BASE, selector="footer") == [
        f"{SITE}/mentions-legales",
        f"{SITE}/contact",
        f"{SITE}/economie/2024/05/01/un-article-dans-le-pied-de-page-de-la-page",
    ]
    assert extract_links(LISTING, BASE, selector="section.une h3 a") == [
        f"{SITE}/economie/article-48213"
    ]


def test_invalid_selector_is_a_typed_error() -> None:
    with pytest.raises(ExtractError):
        extract_links(LISTING, BASE, selector="a[[")


@pytest.mark.parametrize("html", [b"", "<html></html>", b"\xff\xfe\x00garbage"])
def test_empty_pages_give_no_links(html: str | bytes) -> None:
    assert extract_links(html, BASE) == []
