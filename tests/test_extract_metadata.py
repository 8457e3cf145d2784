"""Metadata extraction: dates, JSON-LD, canonical URL, title, authors and language."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from monitor.extract import extract_article
from monitor.extract._dates import parse_date
from monitor.extract._language import detect_language

PAGE = "https://www.example.com/n/1"
PARIS = timezone(timedelta(hours=1))
PARIS_SUMMER = timezone(timedelta(hours=2))
BODY = (
    "<article><p>"
    + "A sentence of the article body that is long enough to count. " * 5
    + "</p></article>"
)


def _page(head: str = "", body: str = BODY, lang: str = "") -> str:
    lang_attr = f' lang="{lang}"' if lang else ""
    return f"<html{lang_attr}><head>{head}</head><body>{body}</body></html>"


def _ld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-12T14:30:00+01:00", datetime(2024, 3, 12, 14, 30, tzinfo=PARIS)),
        ("2024-03-12T13:30:00Z", datetime(2024, 3, 12, 13, 30, tzinfo=UTC)),
        ("2024-03-12T14:30:00+0100", datetime(2024, 3, 12, 14, 30, tzinfo=PARIS)),
        ("2024-03-12 14:30:00", datetime(2024, 3, 12, 14, 30, tzinfo=UTC)),
        ("2024-03-12", datetime(2024, 3, 12, tzinfo=UTC)),
        ("Tue, 12 Mar 2024 13:30:00 GMT", datetime(2024, 3, 12, 13, 30, tzinfo=UTC)),
        ("March 12, 2024", datetime(2024, 3, 12, tzinfo=UTC)),
        ("Mar. 12, 2024 at 3:45 p.m.", datetime(2024, 3, 12, 15, 45, tzinfo=UTC)),
        ("12 March 2024", datetime(2024, 3, 12, tzinfo=UTC)),
        ("le 1er mars 2024 à 14h30", datetime(2024, 3, 1, 14, 30, tzinfo=UTC)),
        ("Publié le 12 février 2024", datetime(2024, 2, 12, tzinfo=UTC)),
        ("12 fevrier 2024", datetime(2024, 2, 12, tzinfo=UTC)),
        ("1710250200", datetime(2024, 3, 12, 13, 30, tzinfo=UTC)),
        ("", None),
        ("not a date", None),
        ("2099-01-01T00:00:00Z", None),  # the future is a template bug, not a date
        ("© 1987 The Company", None),
    ],
)
def test_parse_date(text: str, expected: datetime | None) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("head", "body", "published"),
    [
        # JSON-LD first, even when OpenGraph disagrees.
        (
            _ld({"@type": "NewsArticle", "datePublished": "2024-03-12T09:00:00+01:00"})
            + '<meta property="article:published_time" content="2020-01-01T00:00:00Z">',
            BODY,
            datetime(2024, 3, 12, 9, tzinfo=PARIS),
        ),
        # A list of nodes, the article among a WebSite and a BreadcrumbList.
        (
            _ld([{"@type": "WebSite", "name": "x"}, {"@type": "BreadcrumbList"},
                 {"@type": "BlogPosting", "datePublished": "2024-06-02T08:00:00+02:00"}]),
            BODY,
            datetime(2024, 6, 2, 8, tzinfo=PARIS_SUMMER),
        ),
        # Invalid JSON-LD is skipped, OpenGraph answers.
        (
            '<script type="application/ld+json">{"@type": "NewsArticle", </script>'
            '<meta property="article:published_time" content="2024-03-12T09:00:00+01:00">',
            BODY,
            datetime(2024, 3, 12, 9, tzinfo=PARIS),
        ),
        # <time datetime> in the body.
        ("", '<p><time datetime="2024-03-12T09:00:00+01:00">hier</time></p>' + BODY,
         datetime(2024, 3, 12, 9, tzinfo=PARIS)),
        # A visible English date in a dateline.
        ("", '<div class="article-date">Updated November 19, 2019</div>' + BODY,
         datetime(2019, 11, 19, tzinfo=UTC)),
        # Nothing at all.
        ("", BODY, None),
    ],
)  # fmt: skip
def test_published_sources_in_order(head: str, body: str, published: datetime | None) -> None:
    assert extract_article(_page(head, body)).published == published


def test_jsonld_graph_resolves_references() -> None:
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "Person", "@id": "#a", "name": "Ana Ruiz"},
            {"@type": "Person", "@id": "#b", "name": "Ben Ode"},
            {"@type": "Organization", "@id": "#o", "name": "Daily Example"},
            {
                "@type": "ReportageNewsArticle",
                "headline": "Graph headline",
                "author": [{"@id": "#a"}, {"@id": "#b"}],
                "publisher": {"@id": "#o"},
                "inLanguage": "es",
                "image": ["https://example.com/a.jpg", "https://example.com/b.jpg"],
            },
        ],
    }
    article = extract_article(_page(_ld(graph)), "https://example.com/x/story")
    assert article.title == "Graph headline"
    assert article.authors == ("Ana Ruiz", "Ben Ode")
    assert article.site_name == "Daily Example"
    assert article.image == "https://example.com/a.jpg"


@pytest.mark.parametrize(
    ("head", "url", "canonical"),
    [
        ('<link rel="canonical" href="/news/a-story">', "https://www.example.com/news/a-story?utm=x",
         "https://www.example.com/news/a-story"),
        ('<link rel="canonical" href="https://example.com/news/a-story">',
         "https://m.example.com/news/a-story", "https://example.com/news/a-story"),
        # Never the home page, never another site.
        ('<link rel="canonical" href="https://www.example.com/">', PAGE, None),
        ('<link rel="canonical" href="https://other.example.org/news/a">', PAGE, None),
        # og:url when there is no link element.
        ('<meta property="og:url" content="https://www.example.com/n/1">', "https://www.example.com/n/1?x",
         "https://www.example.com/n/1"),
        ('<link rel="canonical" href="javascript:void(0)">', PAGE, None),
    ],
)  # fmt: skip
def test_canonical_url(head: str, url: str, canonical: str | None) -> None:
    assert extract_article(_page(head), url).canonical_url == canonical


@pytest.mark.parametrize(
    ("head", "body", "title"),
    [
        ('<meta property="og:title" content="OG title">', "<h1>H1 title</h1>" + BODY, "OG title"),
        (
            "<title>The headline | Example News</title>",
            "<h1>The headline</h1>" + BODY,
            "The headline",
        ),
        (
            "<title>The real headline of the day - Site</title>",
            BODY,
            "The real headline of the day",
        ),
        ("<title>Example News - Short one</title>", "<b>Short one</b>" + BODY, "Short one"),
    ],
)
def test_title(head: str, body: str, title: str) -> None:
    assert extract_article(_page(head, body)).title == title


@pytest.mark.parametrize(
    ("head", "body", "authors"),
    [
        ('<meta name="author" content="By Jane Roe and John Doe">', BODY, ("Jane Roe", "John Doe")),
        ('<meta name="author" content="Marie Curie, Pierre Curie">', BODY,
         ("Marie Curie", "Pierre Curie")),
        ('<meta property="article:author" content="https://facebook.com/someone">', BODY, ()),
        ("", '<span class="byline"><a rel="author" href="/a/x">Par Jean Dupont</a></span>' + BODY,
         ("Jean Dupont",)),
        # A link in a .byline, and (no .byline on the page) an .author.
        ("", '<p class="x byline"><a href="/a/y">By Ann Lee</a></p>' + BODY, ("Ann Lee",)),
        ("", '<div class="author">Karl Popp</div>' + BODY, ("Karl Popp",)),
        (_ld({"@type": "NewsArticle", "author": {"@type": "Person", "name": "Li Wei"}}), BODY,
         ("Li Wei",)),
    ],
)  # fmt: skip
def test_authors(head: str, body: str, authors: tuple[str, ...]) -> None:
    assert extract_article(_page(head, body)).authors == authors


FR = (
    "Le gouvernement a annoncé mardi une série de mesures pour les agriculteurs, qui "
    "dénoncent depuis des semaines la baisse de leurs revenus et la hausse des normes."
)
EN = (
    "The government announced on Tuesday a series of measures for farmers, who have been "
    "protesting for weeks about falling incomes and the growing number of rules."
)
DE = (
    "Die Regierung hat am Dienstag eine Reihe von Maßnahmen für die Landwirte angekündigt, "
    "die seit Wochen gegen sinkende Einkommen und neue Vorschriften protestieren."
)


@pytest.mark.parametrize(
    ("text", "languages", "expected"),
    [
        (FR, None, "fr"),
        (EN, None, "en"),
        (DE, None, "de"),
        (FR, ["en", "fr"], "fr"),
        (FR, ["en"], None),
        (
            "Привет, это короткий текст о погоде в Москве и о снеге, который идёт весь день.",
            None,
            "ru",
        ),
        (
            "Слава Україні, і сьогодні в Києві світить сонце над Дніпром та парками міста.",
            None,
            "uk",
        ),
        ("東京では今日、桜が満開になりました。多くの人が公園を訪れています。", None, "ja"),
        ("ok", None, None),
    ],
)
def test_detect_language(text: str, languages: list[str] | None, expected: str | None) -> None:
    assert detect_language(text, languages) == expected


@pytest.mark.parametrize(
    ("lang", "head", "text", "expected"),
    [
        ("fr-FR", "", EN, "en"),  # a template default contradicted by the text
        ("", '<meta property="og:locale" content="fr_FR">', FR, "fr"),
        ("de", "", "Kurz.", "de"),  # too short to contradict the declaration
        ("", "", FR, "fr"),
    ],
)
def test_language_declared_then_confirmed(lang: str, head: str, text: str, expected: str) -> None:
    page = _page(head, f"<article><p>{text}</p><p>{text}</p></article>", lang=lang)
    assert extract_article(page).language == expected
