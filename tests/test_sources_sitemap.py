"""`kind: sitemap` sources polled against a local site: index, gzip, Google News, lastmod,
only what changed fetched again, and sitemap bombs failing their source alone."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from monitor.config import Config, parse_config
from monitor.store import open_store, source_statuses
from tests.faultserver import Compressed, Conditional, FaultServer, MiB, Reply, bomb
from tests.sourcekit import poll_once, poll_twice

NOW = datetime.now(UTC).replace(microsecond=0)
NS = (
    "xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'"
    " xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'"
)
HTML = {"Content-Type": "text/html; charset=utf-8"}
BODY = " ".join(["Les salariés de l'entrepôt ont appris la nouvelle lundi matin."] * 8)


def article(title: str) -> bytes:
    return (
        f"<!DOCTYPE html><html lang='fr'><head><title>{title}</title></head><body><article>"
        f"<h1>{title}</h1><p>{BODY}</p><p>{BODY}</p></article></body></html>"
    ).encode()


def news_urlset(base: str, items: list[tuple[str, datetime]]) -> bytes:
    urls = "".join(
        f"<url><loc>{base}{path}</loc><lastmod>{when.isoformat()}</lastmod><news:news>"
        "<news:publication><news:name>Q</news:name><news:language>fr</news:language>"
        f"</news:publication><news:publication_date>{when.isoformat()}</news:publication_date>"
        f"<news:title>Titre {path}</news:title></news:news></url>"
        for path, when in items
    )
    return f"<?xml version='1.0' encoding='UTF-8'?><urlset {NS}>{urls}</urlset>".encode()


def plain_urlset(base: str, items: list[tuple[str, datetime]]) -> bytes:
    urls = "".join(
        f"<url><loc>{base}{p}</loc><lastmod>{w.isoformat()}</lastmod></url>" for p, w in items
    )
    return f"<?xml version='1.0'?><urlset {NS}>{urls}</urlset>".encode()


def index(base: str, paths: list[str]) -> bytes:
    maps = "".join(
        f"<sitemap><loc>{base}{p}</loc><lastmod>{NOW.isoformat()}</lastmod></sitemap>"
        for p in paths
    )
    return f"<?xml version='1.0'?><sitemapindex {NS}>{maps}</sitemapindex>".encode()


@pytest.fixture
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def _config(site: FaultServer, sitemap: str, max_size: str = "15MiB") -> Config:
    return parse_config(
        "allow_private_networks: true\n"
        f"fetch: {{min_delay: 0s, timeout: 3s, max_size: {max_size}}}\n"
        "sources:\n"
        f"  - {{name: news, kind: sitemap, url: '{site.url(sitemap)}'}}\n"
        f"  - {{name: feed, url: '{site.url('/feed.xml')}'}}\n",
        env={},
    )


def _serve_feed(site: FaultServer) -> None:
    item = (
        f"<item><title>Dans le flux</title><link>{site.url('/f/1')}</link>"
        f"<pubDate>{format_datetime(NOW)}</pubDate></item>"
    )
    feed = f"<rss version='2.0'><channel><title>F</title>{item}</channel></rss>"
    site.route("/feed.xml", Reply(feed, headers={"Content-Type": "application/rss+xml"}))
    site.route("/f/1", Reply(article("Dans le flux"), headers=HTML))


async def test_a_sitemap_polled_twice_fetches_only_new_and_changed_pages(
    site: FaultServer, db_url: str
) -> None:
    base = site.origin
    news = [(f"/n/{i}", NOW - timedelta(hours=i)) for i in range(3)]
    pages = [("/p/a", NOW - timedelta(days=3)), ("/p/b", NOW - timedelta(days=4))]
    site.route("/sitemap.xml", Reply(index(base, ["/sm/news.xml", "/sm/pages.xml.gz"]),
                                     headers={"Content-Type": "application/xml"}))  # fmt: skip
    # The news sitemap gzipped on the wire, the other one a .xml.gz file.
    site.route("/sm/news.xml", Compressed(news_urlset(base, news), ("gzip",),
                                          {"Content-Type": "application/xml"}))  # fmt: skip
    site.route("/sm/pages.xml.gz", Reply(gzip.compress(plain_urlset(base, pages)),
                                         headers={"Content-Type": "application/gzip"}))  # fmt: skip
    for path, _ in news + pages:
        site.route(path, Reply(article(f"Article {path}"), headers=HTML))
    _serve_feed(site)
    config = _config(site, "/sitemap.xml")
    store = open_store(db_url)
    try:
        first = await poll_once(config, store)
        assert first["news"].ok and first["news"].new_articles == 5, first["news"]
        assert first["feed"].ok
        stored = {a.url: a for a in store.iter_articles()}
        one = stored[site.url("/n/1")]
        assert one.language == "fr" and one.title == "Article /n/1"

        # Next poll: /n/1 was updated (its lastmod moved), /n/new appeared.
        later = NOW + timedelta(minutes=5)
        news2 = [("/n/new", later), ("/n/0", news[0][1]), ("/n/1", later), ("/n/2", news[2][1])]
        site.route("/sm/news.xml", Compressed(news_urlset(base, news2), ("gzip",),
                                              {"Content-Type": "application/xml"}))  # fmt: skip
        site.route("/n/new", Reply(article("Nouveau"), headers=HTML))
        second = await poll_once(config, store)
        assert second["news"].ok and second["news"].new_articles == 1, second["news"]
        assert store.count_articles() == 7
    finally:
        store.close()
    # Each page fetched once, but the one whose lastmod changed (twice) and the new one.
    hits = {path: site.hits(path) for path, _ in news + pages}
    assert hits == {"/n/0": 1, "/n/1": 2, "/n/2": 1, "/p/a": 1, "/p/b": 1}
    assert site.hits("/n/new") == 1


def _nested(site: FaultServer) -> str:
    for depth in range(4):
        site.route(f"/idx/{depth}.xml", Reply(index(site.origin, [f"/idx/{depth + 1}.xml"])))
    return "/idx/0.xml"


def _many(site: FaultServer) -> str:
    urls = [(f"/m/{i}", NOW) for i in range(50_001)]
    site.route("/many.xml", Reply(plain_urlset(site.origin, urls)))
    return "/many.xml"


def _gzip_bomb(site: FaultServer) -> str:
    site.route(
        "/bomb.xml.gz", Reply(bomb("gzip", 32 * MiB), headers={"Content-Type": "application/gzip"})
    )
    return "/bomb.xml.gz"


def _missing_child(site: FaultServer) -> str:
    site.route("/with-gap.xml", Reply(index(site.origin, ["/gone.xml"])))
    return "/with-gap.xml"


def _entities(site: FaultServer) -> str:
    lol = (
        "<?xml version='1.0'?><!DOCTYPE u [<!ENTITY a 'aaaaaaaaaa'>"
        "<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'><!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;'>]>"
        f"<urlset {NS}><url><loc>{site.origin}/&c;</loc></url></urlset>"
    )
    site.route("/lol.xml", Reply(lol))
    return "/lol.xml"


@pytest.mark.parametrize(
    ("serve", "message"),
    [
        (_nested, "sitemap indexes nest deeper than 2 levels"),
        (_many, "sitemap lists more than 50000 URLs"),
        (_gzip_bomb, "gzip sitemap inflates past the 15728640-byte cap"),
        (_entities, "sitemap refused: EntitiesForbidden"),
        (_missing_child, "(child sitemap http://127.0.0.1:"),
    ],
    ids=["nested-indexes", "50k-urls", "gzip-bomb", "entities", "missing-child"],
)
async def test_a_sitemap_bomb_fails_its_source_alone_with_one_clear_error(
    site: FaultServer, tmp_path: Path, serve: object, message: str
) -> None:
    path = serve(site)  # type: ignore[operator]
    _serve_feed(site)
    config = _config(site, path)
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        results = await poll_once(config, store)
        statuses = {s.name: s for s in source_statuses(store, datetime.now(UTC))}
        articles = [a.url for a in store.iter_articles()]
    finally:
        store.close()
    assert not results["news"].ok
    assert results["news"].error is not None and message in results["news"].error
    kind = "http_status" if serve is _missing_child else "feed"
    assert statuses["news"].last_error_kind == kind and statuses["news"].error_count == 1
    # The other source went through, and no page of the bomb was fetched.
    assert results["feed"].ok and articles == [site.url("/f/1")]
    assert site.hits("/m/0") == 0


async def test_an_unchanged_child_sitemap_is_asked_for_with_its_validators(
    site: FaultServer, db_url: str
) -> None:
    """A daemon polls the index again and again: a child that did not change answers
    304 and is not downloaded again, yet a page added to the other child is found, and
    nothing already stored is fetched again."""
    base = site.origin
    xml = {"Content-Type": "application/xml"}
    old = [(f"/o/{i}", NOW - timedelta(days=2, hours=i)) for i in range(2)]
    news = [("/n/0", NOW - timedelta(hours=1))]
    site.route("/sitemap.xml", Reply(index(base, ["/sm/old.xml", "/sm/news.xml"]), headers=xml))
    site.route("/sm/old.xml", Conditional(plain_urlset(base, old), etag='"old-1"', headers=xml))
    site.route("/sm/news.xml", Conditional(news_urlset(base, news), etag='"news-1"', headers=xml))
    for path, _ in old + news + [("/n/1", NOW)]:
        site.route(path, Reply(article(f"Article {path}"), headers=HTML))
    _serve_feed(site)

    def publish() -> None:  # a new story: the news child changes, the old one does not
        news2 = [("/n/1", NOW), *news]
        site.route("/sm/news.xml", Conditional(news_urlset(base, news2), etag='"news-2"',
                                               headers=xml))  # fmt: skip

    store = open_store(db_url)
    try:
        first, second = await poll_twice(_config(site, "/sitemap.xml"), store, publish)
        assert first["news"].new_articles == 3, first["news"]
        assert second["news"].ok and second["news"].new_articles == 1, second["news"]
        assert store.count_articles() == 5  # four from the sitemap, one from the feed
    finally:
        store.close()
    old_asks = site.requests_to("/sm/old.xml")
    assert [r.headers.get("if-none-match") for r in old_asks] == [None, '"old-1"']
    news_asks = site.requests_to("/sm/news.xml")
    assert [r.headers.get("if-none-match") for r in news_asks] == [None, '"news-1"']
    assert {path: site.hits(path) for path, _ in old + news} == {"/o/0": 1, "/o/1": 1, "/n/0": 1}
    assert site.hits("/n/1") == 1


def test_the_child_sitemap_cache_keeps_its_bound_least_recently_used_out_first() -> None:
    from monitor.feeds import Sitemap, SitemapEntry
    from monitor.fetch import FetchResult
    from monitor.pipeline._sitemap_cache import SitemapCache

    def reply(url: str, etag: str | None) -> FetchResult:
        return FetchResult(url, url, 200, {}, b"", None, None, etag, None, False, 0.0)

    def urlset(n: int) -> Sitemap:
        return Sitemap("urlset", tuple(SitemapEntry(f"https://e.org/{i}", None) for i in range(n)))

    cache = SitemapCache(max_entries=10)
    for name in "abc":
        cache.put(name, reply(name, f'"{name}"'), urlset(4))
    assert cache.get("a") is None  # 12 entries > 10: the oldest went
    assert cache.get("b") is not None and cache.get("c") is not None
    assert cache.get("b") is not None  # read last: c is now the older of the two
    cache.put("d", reply("d", '"d"'), urlset(4))
    assert cache.get("b") is not None and cache.get("c") is None
    cache.put("e", reply("e", None), urlset(1))  # nothing to ask with: not kept
    cache.put("f", reply("f", '"f"'), urlset(11))  # larger than the whole cache
    assert cache.get("e") is None and cache.get("f") is None
