"""One article, one row: links that lead to one canonical page are one article.

A feed links the same story through a redirector and with an extra query parameter;
the page names one ``rel=canonical``. Before issue 17 that gave two article rows.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import sqlalchemy as sa

from tests.clikit import Result
from tests.faultserver import FaultServer, Reply

HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml"}


def _page(site: FaultServer) -> bytes:
    return (
        f'<html><head><title>Amazon et l\'IA</title><link rel="canonical" '
        f'href="{site.url("/news/amazon-ia")}"></head><body><article><p>'
        + "Amazon annonce des licenciements liés à l'IA dans ses entrepôts, dit la direction. " * 6
        + "</p></article></body></html>"
    ).encode()


def _feed(site: FaultServer, links: list[str]) -> bytes:
    when = format_datetime(datetime.now(UTC) - timedelta(hours=1))
    items = "".join(
        f"<item><title>Amazon et l'IA</title><link>{site.url(link)}</link>"
        f"<guid>{link}</guid><pubDate>{when}</pubDate></item>"
        for link in links
    )
    return f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()


def _config(tmp_path: Path, site: FaultServer) -> Path:
    config = tmp_path / "sources.yaml"
    config.write_text(
        textwrap.dedent(f"""\
        allow_private_networks: true
        fetch: {{min_delay: 0s, timeout: 5s}}
        sources:
          - name: news
            url: {site.url("/rss.xml")}
            language: fr
        alerts:
          - name: amazon
            query: Amazon IA licenciements
            notify: [console]
        channels:
          console: {{type: log}}
        """)
    )
    return config


def _count(db_url: str, table: str) -> int:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(f"select count(*) from {table}")).scalar_one())
    finally:
        engine.dispose()


def test_links_to_one_canonical_page_are_one_article_and_are_not_fetched_again(
    tmp_path: Path, db_url: str, run_cli: Callable[..., Result]
) -> None:
    with FaultServer() as site:
        page = _page(site)
        site.route("/news/amazon-ia", Reply(page, headers=HTML))
        site.route("/go/123", Reply(b"", status=302, headers={"Location": "/news/amazon-ia"}))
        links = ["/go/123", "/news/amazon-ia?variant=rss"]
        site.route("/rss.xml", Reply(_feed(site, links), headers=RSS))
        config = _config(tmp_path, site)
        env = {"MONITOR_DATABASE_URL": db_url}

        first = run_cli("--config", str(config), "run", "--once", env=env, cwd=tmp_path)
        assert first.code == 0, first.err
        assert _count(db_url, "articles") == 1
        assert _count(db_url, "outbox") == 1  # one alert
        # The page's own canonical URL and the second link are the article's aliases.
        assert _count(db_url, "article_aliases") == 2
        fetched = len(site.requests_to("/news/amazon-ia"))
        assert fetched == 2

        # Next poll, the feed also links the canonical URL itself: nothing is fetched.
        links.append("/news/amazon-ia")
        site.route("/rss.xml", Reply(_feed(site, links), headers=RSS))
        again = run_cli("--config", str(config), "run", "--once", env=env, cwd=tmp_path)
        assert again.code == 0, again.err
        assert len(site.requests_to("/news/amazon-ia")) == fetched
        assert len(site.requests_to("/go/123")) == 1
    assert _count(db_url, "articles") == 1
    assert _count(db_url, "outbox") == 1
