"""Golden pages for monitor.extract: body and metadata of pages written for these tests.

Each ``tests/fixtures/extract/<name>.html`` has a ``<name>.expected.json`` holding the
fields a user would read (keys starting with ``_`` are the call's inputs: URL, HTTP
charset, feed date). The pages carry the parts extraction must leave out: navigation,
comments, related boxes, cookie banners, share bars, newsletter boxes, ads, captions.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.errors import ExtractError, MonitorError
from monitor.extract import Article, article_to_dict, extract_article

FIXTURES = Path(__file__).parent / "fixtures" / "extract"
GOLDEN = sorted(
    path.name.removesuffix(".expected.json") for path in FIXTURES.glob("*.expected.json")
)


def _run(name: str) -> tuple[dict[str, Any], dict[str, object]]:
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text(encoding="utf-8"))
    html = (FIXTURES / f"{name}.html").read_bytes()
    feed_date = expected.get("_feed_published")
    article = extract_article(
        html,
        expected.get("_url"),
        charset=expected.get("_charset"),
        feed_published=datetime.fromisoformat(feed_date) if feed_date else None,
    )
    return expected, article_to_dict(article)


def test_the_golden_set_covers_both_languages() -> None:
    assert len(GOLDEN) >= 12
    assert {name[:3] for name in GOLDEN} == {"en_", "fr_"}


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_page(name: str) -> None:
    expected, got = _run(name)
    wanted = {key: value for key, value in expected.items() if not key.startswith("_")}
    assert {key: got[key] for key in wanted} == wanted


@pytest.mark.parametrize(
    ("name", "unwanted"),
    [
        ("en_news_comments", ["bikefan99", "Share on Twitter", "All rights reserved", "Sports"]),
        ("fr_cookie_related", ["cookies", "Lire aussi", "papillons", "Mentions légales"]),
        ("en_jsonld_graph", ["Photo: Ledger staff", "newsletter", "Trending"]),
        ("fr_blog_comments", ["Sophie", "navette", "Partager", "Étiquettes", "Gavarnie"]),
        ("en_split_chunks", ["Advertisement", "More stories", "Noise maps"]),
        ("en_table_lists", ["Most read", "Bus fares"]),
        ("fr_paywall_teaser", ["abonnés", "Se connecter"]),
    ],
)
def test_boilerplate_never_reaches_the_body(name: str, unwanted: list[str]) -> None:
    _, got = _run(name)
    text = str(got["text"])
    assert [word for word in unwanted if word in text] == []


def test_body_paragraphs_are_separated_by_a_blank_line_and_words_never_split() -> None:
    html = (
        "<html><body><article><p>One <b>bold</b>word and <a href='/x'>a link</a>, then more "
        "words to make it a real paragraph of the article.</p><p>Second<br>line break.</p>"
        "</article></body></html>"
    )
    text = extract_article(html).text
    assert text == (
        "One boldword and a link, then more words to make it a real paragraph of the "
        "article.\n\nSecond\nline break."
    )


def test_str_and_bytes_inputs_give_the_same_article() -> None:
    html = (FIXTURES / "fr_cookie_related.html").read_bytes()
    assert extract_article(html) == extract_article(html.decode("utf-8"))


def test_http_charset_decodes_a_page_without_declaration() -> None:
    html = (
        "<html><body><div><p>Привет, мир! Это длинный абзац текста о погоде в Москве "
        "и о том, что завтра будет снег.</p></div></body></html>"
    )
    article = extract_article(html.encode("cp1251"), charset="windows-1251")
    assert "Привет, мир!" in article.text
    assert article.language == "ru"


def test_body_selector_overrides_the_scorer() -> None:
    html = (FIXTURES / "en_news_comments.html").read_bytes()
    article = extract_article(html, body_selector="#comments .comment p:not(.comment-author)")
    assert article.text.startswith("Finally! I have been waiting")
    assert "city council voted" not in article.text


def test_body_selector_that_matches_nothing_falls_back_to_the_scorer() -> None:
    html = (FIXTURES / "en_news_comments.html").read_bytes()
    article = extract_article(html, body_selector=".no-such-class")
    assert article.text.startswith("The city council voted 7 to 2")


def test_invalid_body_selector_is_a_typed_error() -> None:
    with pytest.raises(ExtractError) as caught:
        extract_article("<p>x</p>", body_selector="div[[[")
    assert isinstance(caught.value, MonitorError)
    assert caught.value.kind == "extract"


def test_languages_limit_the_detector() -> None:
    html = (FIXTURES / "fr_declared_en.html").read_bytes()
    assert extract_article(html).language == "fr"
    # Told the source is English only, the detector may not answer French: the page's
    # own declaration stands.
    assert extract_article(html, languages=["en"]).language == "en"


def test_feed_date_is_only_a_fallback() -> None:
    html = (FIXTURES / "en_news_comments.html").read_bytes()
    feed = datetime(2030, 1, 1, tzinfo=UTC)
    assert extract_article(html, feed_published=feed).published == datetime.fromisoformat(
        "2024-05-14T09:30:00-04:00"
    )


@pytest.mark.parametrize(
    ("html", "quality"),
    [
        (b"", "empty"),
        (b"<html><head><title>x</title></head></html>", "empty"),
        (b"\x00\xff\xfe garbage \x81\x82", "short"),
        ("<html><body><p>Only a few words here.</p></body></html>", "short"),
        ("<html><body>" + "<div><p>" + "word " * 300 + "</p></div></body></html>", "ok"),
    ],
)
def test_odd_inputs_never_raise_and_are_flagged(html: str | bytes, quality: str) -> None:
    article = extract_article(html)
    assert isinstance(article, Article)
    assert article.quality == quality


def test_article_to_dict_is_json_ready() -> None:
    _, got = _run("en_jsonld_graph")
    decoded = json.loads(json.dumps(got))
    assert decoded["published"] == "2023-10-05T14:20:00+02:00"
    assert decoded["authors"] == ["Rachel Kim"]
    assert set(decoded) == {field for field in Article.__dataclass_fields__}


def test_published_dates_are_timezone_aware() -> None:
    for name in GOLDEN:
        html = (FIXTURES / f"{name}.html").read_bytes()
        article = extract_article(html)
        for value in (article.published, article.modified):
            assert value is None or value.tzinfo is not None, name


def _priced_page(words: int, free: str) -> str:
    ld = f'{{"@type": "NewsArticle", "isAccessibleForFree": {free}}}'
    body = " ".join(["Council members discussed the budget for the coming year."] * (words // 9))
    return (
        f'<html><head><script type="application/ld+json">{ld}</script></head>'
        f"<body><article><p>{body}</p></article></body></html>"
    )


@pytest.mark.parametrize(
    ("words", "free", "quality"),
    [
        (120, "false", "paywalled"),  # a teaser the publisher says is not free
        (120, '"False"', "paywalled"),
        (120, "true", "ok"),
        (900, "false", "ok"),  # the whole text is there: readable, whatever the price
    ],
)
def test_paywall_flag_follows_jsonld_for_short_bodies(words: int, free: str, quality: str) -> None:
    assert extract_article(_priced_page(words, free)).quality == quality


def test_a_subscriber_login_in_the_header_is_not_a_paywall() -> None:
    html = (
        '<html><body><div class="paywall-header"><a href="/login">Log in</a></div><article><p>'
        + "A short breaking news item about the city council and its budget vote. " * 6
        + "</p></article></body></html>"
    )
    assert extract_article(html).quality == "ok"


_SENTENCE = (
    "The orchard's spring bloom came two weeks early this year, and growers along the "
    "valley spent the weekend checking their trees for frost damage before the rain"
)


def test_a_box_named_as_body_text_does_not_beat_a_body_four_times_longer() -> None:
    # "rich-text" names article text, so the small contact box starts far ahead of
    # the plain divs holding the article; the article's paragraphs still outweigh it.
    paragraphs = "".join(f"<p>{_SENTENCE} ({n}).</p>" for n in range(11))
    html = (
        "<html><body><div class='x7'><div class='q2'>"
        f"{paragraphs}</div></div><div class='rich-text'><p>Phone: 555 0100, "
        "info@example.org, 1 Main Street, Springfield</p></div></body></html>"
    )
    text = extract_article(html).text
    assert text.count("orchard's spring bloom") == 11
    assert "Phone:" not in text


def test_paragraphs_each_wrapped_in_a_widget_are_kept_and_small_widgets_are_not() -> None:
    # Page builders wrap every block of an article in a "widget"; a long one is text.
    block = "<div class='widget-container'><p>{}</p></div>"
    long_paragraph = " ".join(f"{_SENTENCE} ({n})." for n in range(6))
    body = "".join(block.format(f"Part {n}. {long_paragraph}") for n in range(4))
    promo = block.format("Get a discount on garden seeds today.")
    html = f"<html><body><div class='page-content'>{body}{promo}</div></body></html>"
    text = extract_article(html).text
    assert [line[:6] for line in text.split("\n\n")] == ["Part 0", "Part 1", "Part 2", "Part 3"]


_STORY = (
    "<p>Le conseil municipal a voté le budget de la ville, après un long débat qui a"
    " duré toute la soirée, et la majorité a salué un texte équilibré.</p>"
)


@pytest.mark.parametrize(
    "attrs",
    [
        "hidden",
        'aria-hidden="true"',
        'style="Display: none"',
        'role="navigation"',
        'itemprop="comment"',
        'class="share-bar"',
        'id="related-stories"',
    ],
)
@pytest.mark.parametrize("tag", ["div", "span", "a"])
def test_each_attribute_that_marks_boilerplate_leaves_the_part_out(tag: str, attrs: str) -> None:
    # The writer reads attributes only on elements carrying one the rules look at:
    # every such attribute, on a block or an inline element, must still count.
    part = f"<{tag} {attrs}>Partagez cet article sur vos réseaux</{tag}>"
    html = f"<html><body><article>{_STORY * 3}<p>Fin du récit. {part}</p>{_STORY}</article>"
    text = extract_article(html + "</body></html>", "https://example.org/a").text
    assert "conseil municipal" in text and "Fin du récit." in text
    assert "Partagez" not in text


@pytest.mark.parametrize(
    "raw",
    [
        "a\x00b",
        "a \x00 b",
        "a\x00\x00b",
        "a \x00 \x00 b\x00c",
        "\x00\x00a\x00",
        " x  \x00\t\x00\x00  y \x00 z ",
        "a\u200b \x00 \ufeffb",
        "\x00",
        "one\x00 \x00\x00two three\x00\x00",
    ],
)
def test_br_laid_out_text_is_cut_as_the_reference_patterns_cut_it(raw: str) -> None:
    from monitor.extract._text import _LINE_BREAK, _PARAGRAPH_BREAK, _SPACES, _Writer

    chunks = _PARAGRAPH_BREAK.split(_SPACES.sub(" ", raw))
    expected = [text for chunk in chunks if (text := _LINE_BREAK.sub("\n", chunk).strip())]
    writer = _Writer()
    writer.parts.append(raw)
    writer.flush()
    assert writer.paragraphs == [text.replace("\u200b", "") for text in expected]


@pytest.mark.parametrize(
    "text",
    [
        "l’homme qui « voit » — déjà, covid-19 et l'été",
        "the_end 2020s ²nd ½way naïve façade",
        "ascii only, words: here.",
        "mixed ж кириллица and english",
        "€100 — “quoted” … •bullet™",
        "ÉTÉ À PARIS, ÇA VA ? ÀÉÎÕÜ ß ÿ µ ª",
        "the \u212a sign lowers to k",
        "",
    ],
)
def test_language_words_are_the_word_patterns(text: str) -> None:
    from monitor.extract._language import _WORD, _sample_words

    assert _sample_words(text)[0] == _WORD.findall(text.lower())


@pytest.mark.parametrize(
    "line",
    [
        "Advertisement",
        "ADVERTISEMENT",
        "À LIRE AUSSI : la réforme",
        "Publicité",
        "PUBLICITÉ",
        "Read more about the plan",
        "By Jane Doe",
        "Par Jean-Marie Le Pen",
        "12 comments",
        "© 2024 Example",
        "Loading...",
        "The council voted the budget on Monday.",
        "Le conseil a voté le budget, après un débat.",
        "SEE ALSO İstanbul",
        "ſhare this story",
        "Share thıs",
        "Kelvin \u212a reading",
    ],
)
def test_boilerplate_line_is_the_pattern(line: str) -> None:
    from monitor.extract._patterns import BOILERPLATE_LINE, boilerplate_line

    assert boilerplate_line(line) == (BOILERPLATE_LINE.match(line) is not None)
