"""Tests for monitor.feeds: real feed files in, golden records out, hostile XML refused."""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from monitor.errors import FeedError
from monitor.feeds import Feed, parse_feed

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"


def _read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _as_json(feed: Feed) -> dict[str, Any]:
    def encode(value: object) -> str:
        assert isinstance(value, datetime)
        return value.isoformat()

    loaded: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(feed), default=encode))
    return loaded


# --- golden files -------------------------------------------------------------------------

GOLDEN = [
    "rss091_en.xml",
    "rss10_fr.rdf",
    "rss20_fr.xml",
    "atom_en.xml",
    "declared_entities.xml",
    "bozo_entries.xml",
]


@pytest.mark.parametrize("name", GOLDEN)
def test_fixture_matches_golden_output(name: str) -> None:
    golden = json.loads((FIXTURES / f"{name.rsplit('.', 1)[0]}.expected.json").read_text())
    feed = parse_feed(_read(name), golden["url"])
    assert _as_json(feed) == golden["feed"]


@pytest.mark.parametrize("name", GOLDEN)
def test_dates_are_aware_utc(name: str) -> None:
    feed = parse_feed(_read(name), "https://feeds.example/feed")
    for entry in feed.entries:
        for stamp in (entry.published, entry.updated):
            assert stamp is None or stamp.utcoffset() == UTC.utcoffset(None)


def test_html_is_stripped_and_unsafe_links_dropped() -> None:
    feed = parse_feed(_read("rss20_fr.xml"), "https://www.quotidien-numerique.example/tech/rss")
    first = feed.entries[0]
    assert "<" not in first.content and "trackRead" not in first.content
    assert first.content.count("\n\n") == 2  # three paragraphs, as a reader sees them
    assert [entry.url is None for entry in feed.entries] == [False, False, False, True]


# --- charsets -----------------------------------------------------------------------------


def _reencoded(name: str, codec: str, declared: str) -> bytes:
    text = _read(name).decode("utf-8").replace('encoding="UTF-8"', f'encoding="{declared}"')
    return text.encode(codec)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        pytest.param(_reencoded("rss20_fr.xml", "utf-16", "UTF-16"), None, id="utf16-bom"),
        pytest.param(_reencoded("rss20_fr.xml", "utf-16-be", "UTF-16"), None, id="utf16be-no-bom"),
        pytest.param(_reencoded("rss20_fr.xml", "utf-8-sig", "UTF-8"), None, id="utf8-bom"),
        pytest.param(_read("rss20_fr.xml"), "text/xml; charset=ISO-8859-1", id="utf8-mislabelled"),
        pytest.param(
            _reencoded("rss20_fr.xml", "cp1252", "windows-1252")
            .replace(b"\xe2\x80\x99", b"'")
            .replace(b'encoding="windows-1252"', b""),
            "application/rss+xml; charset=windows-1252",
            id="cp1252-by-header",
        ),
    ],
)
def test_charsets_decode_to_the_same_text(data: bytes, content_type: str | None) -> None:
    reference = parse_feed(_read("rss20_fr.xml"), "https://q.example/rss")
    feed = parse_feed(data, "https://q.example/rss", content_type=content_type)
    assert feed.title == reference.title == "Le Quotidien Numérique – Tech"
    assert [e.title for e in feed.entries] == [e.title for e in reference.entries]


# --- hostile and broken input -------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = b'<!ENTITY exfil SYSTEM "file:///etc/passwd">' if self.path.endswith(".dtd") else b""
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def dtd_server() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server that records every request an XML parser might make to it."""
    hits: list[str] = []
    handler = type("Handler", (_Recorder,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _quadratic(value_length: int, references: int) -> bytes:
    value = "x" * value_length
    body = "&big;" * references
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY big "{value}">]>'
        f'<rss version="2.0"><channel><title>q</title><item><title>q</title>'
        f"<description>{body}</description></item></channel></rss>"
    ).encode()


def _item(description: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
        f"<title>x</title><description>{description}"
    ).encode()


def _hidden(prefix: str) -> bytes:
    laughs = _read("billion_laughs_oneline.xml").decode()
    return (prefix + laughs.replace('<?xml version="1.0"?>', "")).encode()


HOSTILE = [
    pytest.param(_read("billion_laughs_oneline.xml"), "expansion", id="billion-laughs-one-line"),
    pytest.param(
        _read("billion_laughs_multiline.xml"), "expansion", id="billion-laughs-many-lines"
    ),
    pytest.param(
        _read("billion_laughs_oneline.xml").decode().encode("utf-16"),
        "expansion",
        id="laughs-utf16",
    ),
    pytest.param(
        _hidden("<?xml version='1.0'?><!-- <a -->"), "expansion", id="laughs-after-comment"
    ),
    pytest.param(_hidden("junk before the prolog\n"), "entity", id="laughs-behind-junk"),
    pytest.param(_quadratic(1000, 200_000), "budget", id="quadratic-many-references"),
    pytest.param(_quadratic(200_000, 50), "characters long", id="quadratic-long-value"),
    pytest.param(_read("xxe_file.xml"), "external entity", id="xxe-file"),
    pytest.param(_item("<a>" * 200_000), "elements", id="deep-unclosed-tags"),
    pytest.param(_item("&" * 300_000), "leniently", id="stray-ampersands"),
    pytest.param(_item("< " * 150_000), "leniently", id="stray-angle-brackets"),
    pytest.param(_read("invalid.xml"), "not a readable feed", id="invalid-xml"),
    pytest.param(_read("not_a_feed.html"), "not a feed but an HTML page", id="html-page"),
    pytest.param(b"/etc/passwd", "not a readable feed", id="path-like-bytes"),
    pytest.param(b"  \n", "empty", id="empty"),
]


@pytest.mark.parametrize(("data", "message"), HOSTILE)
def test_hostile_or_broken_feeds_raise_feed_error_cheaply(data: bytes, message: str) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(FeedError, match=message) as caught:
            parse_feed(data, "https://evil.example/feed")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.kind == "feed"
    assert "root:" not in str(caught.value)
    # The input is under 2 MB; the guard must not amplify it.
    assert peak < 50 * 2**20
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize("name", ["xxe_parameter.xml", "xxe_http.xml", "external_dtd.xml"])
def test_external_dtds_and_entities_are_never_fetched(
    name: str, dtd_server: tuple[str, list[str]]
) -> None:
    base, hits = dtd_server
    data = _read(name).decode().replace("{base}", base).encode()
    try:
        feed = parse_feed(data, "https://dtd.example/feed")
    except FeedError:
        feed = None
    assert hits == []
    if name == "external_dtd.xml":  # a DOCTYPE alone is harmless: the feed still reads
        assert feed is not None and feed.entries[0].url == "https://dtd.example/notice"
    else:
        assert feed is None


def test_size_cap_is_enforced_before_parsing() -> None:
    data = _read("rss20_fr.xml")
    assert parse_feed(data, "https://q.example/rss", max_bytes=len(data)).entries
    with pytest.raises(FeedError, match="cap"):
        parse_feed(data, "https://q.example/rss", max_bytes=len(data) - 1)


def test_default_cap_is_15_mib() -> None:
    padding = b"<!--" + b" " * (15 * 2**20) + b"-->"
    with pytest.raises(FeedError, match="15728640-byte cap"):
        parse_feed(_read("rss20_fr.xml") + padding, "https://q.example/rss")


def test_large_legitimate_feeds_stay_within_the_markup_budget() -> None:
    items = "".join(
        f"<item><title>Story {n}</title><link>https://big.example/{n}</link>"
        f"<description>&lt;p&gt;Paragraph {n} &amp;amp; more&lt;/p&gt;</description></item>"
        for n in range(3000)
    )
    data = _channel("").replace(b"<item>", items.encode() + b"<item>", 1)
    feed = parse_feed(data, "https://big.example/rss")
    assert len(feed.entries) == 3001
    assert feed.entries[2999].summary == "Paragraph 2999 & more"


def test_tolerant_parse_still_yields_entries() -> None:
    feed = parse_feed(_read("bozo_entries.xml"), "https://handwritten.example/feed.xml")
    assert [entry.title for entry in feed.entries] == [
        "Café prices up 10% & rising",
        "Second story",
    ]


# --- polling hints and metadata -----------------------------------------------------------


def _channel(extra: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0" '
        'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>t</title>'
        f"{extra}<item><title>a</title><link>https://h.example/a</link></item></channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    ("extra", "ttl"),
    [
        ("<ttl>15</ttl>", 900.0),
        ("<ttl> 60 </ttl>", 3600.0),
        (
            "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>",
            900.0,
        ),
        ("<sy:updatePeriod>daily</sy:updatePeriod>", 86400.0),
        (
            "<sy:updatePeriod>weekly</sy:updatePeriod><sy:updateFrequency>7</sy:updateFrequency>",
            86400.0,
        ),
        ("<ttl>30</ttl><sy:updatePeriod>daily</sy:updatePeriod>", 1800.0),
        ("<ttl>0</ttl>", None),
        ("<ttl>-5</ttl>", None),
        ("<ttl>soon</ttl>", None),
        ("<ttl>1e308</ttl>", None),
        ("<sy:updatePeriod>fortnightly</sy:updatePeriod>", None),
        ("", None),
    ],
)
def test_ttl_hint_in_seconds(extra: str, ttl: float | None) -> None:
    assert parse_feed(_channel(extra), "https://h.example/rss").ttl == ttl


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        (
            "<pubDate>Mon, 18 Nov 2024 09:12:00 +0100</pubDate>",
            datetime(2024, 11, 18, 8, 12, tzinfo=UTC),
        ),
        (
            "<pubDate>Mon, 18 Nov 2024 09:12:00 EST</pubDate>",
            datetime(2024, 11, 18, 14, 12, tzinfo=UTC),
        ),
        ("<pubDate>2024-11-18T09:12:00Z</pubDate>", datetime(2024, 11, 18, 9, 12, tzinfo=UTC)),
        ("<pubDate>not a date</pubDate>", None),
    ],
)
def test_entry_dates(date: str, expected: datetime | None) -> None:
    data = _channel("").replace(b"<title>a</title>", b"<title>a</title>" + date.encode())
    assert parse_feed(data, "https://h.example/rss").entries[0].published == expected


def test_relative_links_resolve_against_the_feed_url() -> None:
    data = _channel("").replace(b"https://h.example/a", b"../story/42")
    entry = parse_feed(data, "https://h.example/feeds/rss.xml").entries[0]
    assert entry.url == "https://h.example/story/42"


# --- JSON Feed, HTML where a feed was expected, broken XML recovered ----------------------


def test_json_feed_1_1_is_read_as_a_feed() -> None:
    feed = parse_feed(
        _read("jsonfeed11.json"),
        "https://carnet.example/feed.json",
        content_type="application/feed+json",
    )
    assert (feed.title, feed.link, feed.language) == (
        "Carnet numérique", "https://carnet.example/", "fr-fr",
    )  # fmt: skip
    first, second = feed.entries[:2]
    assert first.url == "https://carnet.example/2026/12/ia-entrepots?utm_source=json"
    assert first.title == "L'IA dans les entrepôts"
    assert first.content == "Premier paragraphe.\n\nSecond paragraphe."
    assert first.published == datetime(2026, 12, 1, 9, 32, tzinfo=UTC)
    assert first.updated == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert first.authors == ("Camille Martin",) and first.language == "fr"
    assert second.url == "https://autre.example/article" and second.published is None
    assert second.content == "Texte brut.\n\nDeux paragraphes."
    assert second.authors == ("Ancien format 1.0",) and second.language == "fr-fr"
    # A javascript: link is dropped, the entry kept by its id and title; junk items skipped.
    assert [e.url for e in feed.entries] == [first.url, second.url, None]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": {}}', "'items' is not a list"),
        (b'{"title": "no version"}', "not a JSON Feed"),
        (b"{" * 100_000, "not a readable JSON Feed"),
    ],
    ids=["items-not-a-list", "no-version", "deep-nesting"],
)
def test_a_bad_json_feed_is_a_feed_error(body: bytes, message: str) -> None:
    with pytest.raises(FeedError, match=message):
        parse_feed(body, "https://carnet.example/feed.json")


def test_an_html_page_given_as_a_feed_names_the_feeds_it_links_to() -> None:
    with pytest.raises(FeedError) as caught:
        parse_feed(_read("html_with_alternates.html"), "https://www.quotidien-numerique.example/")
    assert str(caught.value) == (
        "not a feed but an HTML page; it links to "
        "https://www.quotidien-numerique.example/rss/une.xml (RSS), "
        "https://www.quotidien-numerique.example/tech/atom.xml (Atom)"
    )


def test_an_html_page_without_feeds_and_a_login_page_each_say_so() -> None:
    with pytest.raises(FeedError, match="HTML page, which links to no feed"):
        parse_feed(_read("not_a_feed.html"), "https://example.org/")
    with pytest.raises(FeedError) as caught:
        parse_feed(
            _read("login_page.html"), "https://members.example/feed", content_type="text/html"
        )
    assert str(caught.value).startswith("not a feed but a login page")


def test_a_feed_recovered_from_broken_xml_says_it_is_malformed() -> None:
    feed = parse_feed(_read("bozo_entries.xml"), "https://feeds.example/feed")
    assert feed.entries and feed.malformed == "line 4, column 30: not well-formed (invalid token)"
    assert parse_feed(_read("rss20_fr.xml"), "https://feeds.example/feed").malformed is None


def test_a_feed_mislabelled_by_its_server_is_still_read() -> None:
    atom = parse_feed(_read("atom_en.xml"), "https://feeds.example/atom", content_type="text/html")
    assert atom.entries
    json_feed = parse_feed(
        _read("jsonfeed11.json"), "https://carnet.example/f", content_type="text/plain"
    )
    assert json_feed.title == "Carnet numérique"


# --- cost per parse -------------------------------------------------------------------------


class _ImportWatch:
    """A meta path finder that only records the modules the import system looks for
    (anything already imported never reaches it)."""

    def __init__(self) -> None:
        self.searched: list[str] = []

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        self.searched.append(name)


def test_a_parse_imports_nothing_it_searched_for_before() -> None:
    # feedparser asked for the libxml2 SAX driver on every parse: a failing import that
    # searches sys.path each time, and queues threads on the import lock.
    parse_feed(_read("rss20_fr.xml"), "https://example.org/feed")  # first parse imports
    watch = _ImportWatch()
    sys.meta_path.insert(0, watch)
    try:
        for _ in range(3):
            feed = parse_feed(_read("rss20_fr.xml"), "https://example.org/feed")
    finally:
        sys.meta_path.remove(watch)
    assert feed.entries
    assert watch.searched == []
