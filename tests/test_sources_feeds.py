"""Feeds as the poll sees them: a feed recovered from broken XML shown as such (status,
/metrics, last error), a feed URL that answers a login page, one article per URL
whatever its scheme or ``www.``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import parse_config
from monitor.dedupe import url_key
from monitor.observe import Metrics
from monitor.store import NewArticle, open_store
from tests.clikit import Result
from tests.faultserver import FaultServer, Redirect, Reply
from tests.sourcekit import poll_once

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
RSS = {"Content-Type": "application/rss+xml"}
HTML = {"Content-Type": "text/html; charset=utf-8"}


@pytest.fixture
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        # The bozo fixture's entries link to feeds.example; nothing is fetched from it
        # that matters here: a failed article fetch keeps the entry's own text.
        server.route("/broken.xml", Reply((FEEDS / "bozo_entries.xml").read_bytes(), headers=RSS))
        server.route("/members/feed", Redirect("/login?next=/members/feed"))
        server.route("/login", Reply((FEEDS / "login_page.html").read_bytes(), headers=HTML))
        yield server


def _config_text(site: FaultServer, broken: str = "/broken.xml") -> str:
    return (
        "allow_private_networks: true\n"
        "fetch: {min_delay: 0s, timeout: 2s}\n"
        "sources:\n"
        f"  - {{name: broken, url: '{site.url(broken)}'}}\n"
        f"  - {{name: members, url: '{site.url('/members/feed')}'}}\n"
        "alerts:\n  - {name: any, query: zzzz, notify: [console]}\n"
        "channels:\n  console: {type: log}\n"
    )


async def test_a_recovered_feed_is_ok_but_shown_malformed_and_a_login_page_fails_alone(
    site: FaultServer, tmp_path: Path, db_url: str, run_cli: Callable[..., Result]
) -> None:
    config_file = tmp_path / "sources.yaml"
    config_file.write_text(_config_text(site))
    metrics = Metrics()
    store = open_store(db_url)
    try:
        results = await poll_once(parse_config(config_file.read_text(), env={}), store, metrics)
    finally:
        store.close()
    assert results["broken"].ok and results["broken"].new_articles >= 1
    assert not results["members"].ok
    assert results["members"].error == (
        "not a feed but a login page: the feed URL asks for an account (or moved)"
    )
    assert 'monitor_feed_malformed{source="broken"} 1.0' in metrics.render().decode()

    env = {"MONITOR_DATABASE_URL": db_url}
    shown = run_cli("--config", str(config_file), "status", "--json", env=env)
    assert shown.code == 0, shown.err
    rows = {s["name"]: s for s in json.loads(shown.out)["sources"]}
    assert rows["broken"]["ok"] is True
    assert rows["broken"]["last_error"] == (
        "ok, malformed: line 4, column 30: not well-formed (invalid token)"
    )
    assert rows["members"]["ok"] is False and rows["members"]["last_error_kind"] == "feed"
    table = run_cli("--config", str(config_file), "status", env=env)
    line = next(row for row in table.out.splitlines() if row.startswith("broken "))
    assert " ok " in line and "ok, malformed: line 4" in line

    # Once the feed is well-formed again, the note goes and the gauge falls back to 0.
    good = (FEEDS / "rss20_fr.xml").read_bytes()
    site.route("/broken.xml", Reply(good, headers=RSS))
    store = open_store(db_url)
    try:
        again = await poll_once(parse_config(config_file.read_text(), env={}), store, metrics)
    finally:
        store.close()
    assert again["broken"].ok
    assert 'monitor_feed_malformed{source="broken"} 0.0' in metrics.render().decode()
    shown = run_cli("--config", str(config_file), "status", "--json", env=env)
    rows = {s["name"]: s for s in json.loads(shown.out)["sources"]}
    assert rows["broken"]["last_error"] is None


SPELLINGS = [
    ("http://www.news.example/2026/12/a", "https://news.example/2026/12/a"),
    ("https://news.example/2026/12/b", "http://www.news.example/2026/12/b/"),
    ("HTTPS://WWW.News.Example:443/2026/12/c", "http://news.example:80/2026/12/c"),
]


def test_an_articles_identity_ignores_its_scheme_and_www(db_url: str) -> None:
    store = open_store(db_url)
    try:
        for seen, _ in SPELLINGS:
            record = NewArticle(
                url_key=url_key(seen), url=seen, canonical_url=seen, source="s", title="A",
                body=f"text of {seen}", first_seen=datetime.now(UTC),
            )  # fmt: skip
            assert store.insert_article(record, []) is not None
        # The other spellings are known: the poll skips them rather than storing twice.
        others = [url_key(again) for _, again in SPELLINGS]
        assert set(store.known_keys(others)) == set(others)
        assert store.count_articles() == len(SPELLINGS)
    finally:
        store.close()
