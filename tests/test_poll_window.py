"""A poll reads its new articles a few at a time, and stores them in feed order.

What a user notices: a feed with many new articles on a slow site is read in a
fraction of the time it took one article after the other (still within the site's
politeness), and the articles are stored, and their alerts sent, in the order of the
feed, as before.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.config import parse_config
from monitor.scheduler import Daemon
from monitor.store import Store
from monitor.store._base import articles_t
from tests.faultserver import Delay, FaultServer, Reply

ENTRIES = 8
PAGE_DELAY = 0.4  # seconds each article page takes to answer


def _feed(site: FaultServer) -> bytes:
    items = "".join(
        f"<item><title>Story {i}</title><link>{site.url(f'/a/{i}.html')}</link>"
        f"<guid>{site.url(f'/a/{i}.html')}</guid></item>"
        for i in range(ENTRIES)
    )
    head = '<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>'
    return f"{head}{items}</channel></rss>".encode()


def _page(i: int) -> bytes:
    body = " ".join(
        f"Paragraph {i} sentence {j} about the harbour and the ferries." for j in range(40)
    )
    head = f"<html><head><title>Story {i}</title></head>"
    return f"{head}<body><article><p>{body}</p></article></body></html>".encode()


@pytest.fixture
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        server.route(
            "/feed.xml", Reply(_feed(server), headers={"Content-Type": "application/rss+xml"})
        )
        for i in range(ENTRIES):
            server.route(
                f"/a/{i}.html",
                Delay(PAGE_DELAY, Reply(_page(i), headers={"Content-Type": "text/html"})),
            )
        yield server


async def test_a_feeds_new_articles_are_read_side_by_side_and_stored_in_order(
    tmp_path: Path, site: FaultServer
) -> None:
    db_url = f"sqlite:///{tmp_path / 'm.db'}"
    text = (
        f"database: {db_url}\nallow_private_networks: true\nextract_processes: 0\n"
        "fetch: {min_delay: 0s, per_host_concurrency: 2}\n"
        f'sources:\n  - {{name: slow, url: "{site.url("/feed.xml")}"}}\n'
    )
    path = tmp_path / "sources.yaml"
    path.write_text(text)
    daemon = Daemon(path, parse_config(text, str(path), env={}), grace=5)
    started = time.monotonic()
    results = await daemon.run_once()
    elapsed = time.monotonic() - started
    assert [r.new_articles for r in results] == [ENTRIES]
    # One after the other: at least ENTRIES * PAGE_DELAY (3.2 s). Two at a time, as the
    # site's politeness allows: half that, plus the feed and the bookkeeping.
    assert elapsed < 0.75 * ENTRIES * PAGE_DELAY, elapsed
    store = Store(db_url)
    try:
        with store.engine.connect() as conn:
            a = articles_t.c
            urls = [row.url for row in conn.execute(sa.select(a.url).order_by(a.id))]
    finally:
        store.close()
    assert urls == [site.url(f"/a/{i}.html") for i in range(ENTRIES)]
