"""`monitor sources add URL`: feed discovery on local sites, written into sources.yaml."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from monitor.config import load_config
from tests.clikit import Result
from tests.faultserver import FaultServer, Reply

Cli = Callable[..., Result]
NOW = datetime.now(UTC).replace(microsecond=0)
HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml"}
ATOM = {"Content-Type": "application/atom+xml"}


def rss(title: str, base: str, n: int) -> bytes:
    items = "".join(
        f"<item><title>Story {i}</title><link>{base}/story-{i}</link>"
        f"<pubDate>{format_datetime(NOW - timedelta(hours=i))}</pubDate></item>"
        for i in range(n)
    )
    channel = f"<channel><title>{title}</title>{items}</channel>"
    return f"<?xml version='1.0'?><rss version='2.0'>{channel}</rss>".encode()


def atom(title: str, base: str, n: int) -> bytes:
    entries = "".join(
        f"<entry><title>Comment {i}</title><id>{base}/c/{i}</id><link href='{base}/c/{i}'/>"
        f"<updated>{(NOW - timedelta(days=i)).isoformat()}</updated></entry>"
        for i in range(n)
    )
    return (
        f"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>{title}</title>"
        f"<id>{base}/</id><updated>{NOW.isoformat()}</updated>{entries}</feed>"
    ).encode()


def page(head: str = "", body: str = "<p>Hello</p>") -> bytes:
    head = f"<head><title>Le Quotidien</title>{head}</head>"
    return f"<!DOCTYPE html><html>{head}<body>{body}</body></html>".encode()


@pytest.fixture
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "# test config\nallow_private_networks: true   # the sites live on 127.0.0.1\n"
        "fetch: {min_delay: 0s, timeout: 3s}\nsources:\n"
        "  - name: existing\n    url: https://example.org/feed.xml\n"
    )
    return path


def test_a_home_page_with_two_alternate_feeds_offers_both_and_adds_the_picked_one(
    site: FaultServer, config: Path, run_cli: Cli
) -> None:
    site.route(
        "/",
        Reply(
            page(
                "<link rel='alternate' type='application/rss+xml' title='Tout' href='/feed.xml'>"
                "<link rel='alternate' type='application/atom+xml' title='Commentaires'"
                " href='/comments/atom.xml'>"
            ),
            headers=HTML,
        ),
    )
    site.route("/feed.xml", Reply(rss("Le Quotidien", site.origin, 12), headers=RSS))
    site.route("/comments/atom.xml", Reply(atom("Le Quotidien", site.origin, 3), headers=ATOM))
    listed = run_cli("--config", str(config), "sources", "add", site.url("/"), "--json")
    assert listed.code == 0, listed.err
    found = json.loads(listed.out)
    assert [(f["format"], f["title"], f["entries"], f["via"]) for f in found] == [
        ("RSS", "Le Quotidien (Tout)", 12, "link"),
        ("Atom", "Le Quotidien (Commentaires)", 3, "link"),
    ]
    assert found[0]["newest"] == NOW.isoformat()
    before = config.read_text()
    assert config.read_text() == before  # --json alone writes nothing

    res = run_cli(
        "--config", str(config), "sources", "add", site.url("/"), "--pick", "2",
        "--name", "quotidien-commentaires", "--tags", "news,fr",
    )  # fmt: skip
    assert res.code == 0, res.err
    assert "Commentaires" in res.out and "12" in res.out  # the table of what each holds
    assert config.read_text().startswith(before)  # appended; the rest as it was
    added = {s.name: s for s in load_config(config).sources}["quotidien-commentaires"]
    assert added.url == site.url("/comments/atom.xml") and added.kind == "feed"
    assert added.tags == ("news", "fr")

    # Asked again, the same feed is reported, not added twice.
    again = run_cli("--config", str(config), "sources", "add", site.url("/"), "--pick", "2")
    assert again.code == 0 and "already in" in again.out
    assert len(load_config(config).sources) == 2


def test_a_section_page_without_a_link_finds_the_sites_feed_path(
    site: FaultServer, config: Path, run_cli: Cli
) -> None:
    site.route("/economie/", Reply(page(body="<a href='/economie/a-1'>A</a>"), headers=HTML))
    site.route("/feed/", Reply(rss("Le Quotidien", site.origin, 5), headers=RSS))
    res = run_cli("--config", str(config), "sources", "add", site.url("/economie/"), "--yes")
    assert res.code == 0, res.err
    added = load_config(config).sources[-1]
    assert (added.name, added.url, added.kind) == ("le-quotidien", site.url("/feed/"), "feed")
    # It looked below the section before the root, and stopped once it found one.
    assert site.hits("/economie/feed/") == 1 and site.hits("/feed/") == 1


def test_a_site_with_only_a_news_sitemap_proposes_a_sitemap_source(
    site: FaultServer, config: Path, run_cli: Cli
) -> None:
    site.route("/", Reply(page(), headers=HTML))
    site.route(
        "/robots.txt", Reply(b"User-agent: *\nDisallow: /admin/\nSitemap: /sitemap-news.xml\n")
    )
    news = (
        "<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'"
        " xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'>"
        + "".join(
            f"<url><loc>{site.origin}/a/{i}</loc><news:news><news:publication>"
            "<news:name>Q</news:name><news:language>fr</news:language></news:publication>"
            f"<news:publication_date>{(NOW - timedelta(hours=i)).isoformat()}"
            f"</news:publication_date><news:title>Titre {i}</news:title></news:news></url>"
            for i in range(4)
        )
        + "</urlset>"
    )
    site.route("/sitemap-news.xml", Reply(news, headers={"Content-Type": "application/xml"}))
    listed = run_cli("--config", str(config), "sources", "add", site.url("/"), "--json")
    found = json.loads(listed.out)
    assert [(f["kind"], f["format"], f["entries"]) for f in found] == [
        ("sitemap", "Google News sitemap", 4),
        ("page", "page", 0),
    ]
    assert found[0]["newest"] == NOW.isoformat()
    res = run_cli("--config", str(config), "sources", "add", site.url("/"), "--yes")
    assert res.code == 0, res.err
    assert "no feed found" in res.out
    added = load_config(config).sources[-1]
    assert (added.kind, added.url) == ("sitemap", site.url("/sitemap-news.xml"))


def test_without_a_choice_nothing_is_written_and_a_feed_url_is_its_own_answer(
    site: FaultServer, config: Path, run_cli: Cli
) -> None:
    site.route("/feed.json", Reply(json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": "Carnet",
        "items": [{"id": "1", "url": f"{site.origin}/n/1", "content_text": "Bonjour"}],
    }), headers={"Content-Type": "application/feed+json"}))  # fmt: skip
    before = config.read_text()
    res = run_cli("--config", str(config), "sources", "add", site.url("/feed.json"))
    assert res.code == 1
    assert "JSON Feed" in res.out and "Carnet" in res.out
    assert "pass --pick K" in res.err
    assert config.read_text() == before


def test_a_site_that_cannot_be_reached_is_one_clear_error(config: Path, run_cli: Cli) -> None:
    res = run_cli("--config", str(config), "sources", "add", "http://127.0.0.1:9/", "--yes")
    assert res.code == 1
    assert res.err.startswith("error: cannot connect") and "Traceback" not in res.err
