"""Everything the network throws at one poll: each hazard is recorded on its own source,
bounded in time and memory, and the good source beside it goes through untouched."""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from monitor.config import parse_config
from monitor.scheduler import Daemon
from monitor.store import Store, source_statuses
from tests.faultserver import (
    Bomb,
    Compressed,
    Conditional,
    Drip,
    Endless,
    FaultServer,
    Hang,
    HugeLength,
    Reply,
    Throttle,
)
from tests.sitekit import serve_site

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
RSS = {"Content-Type": "application/rss+xml"}
LATIN1_FEED = (
    "<?xml version='1.0'?><rss version='2.0'><channel><title>Économie</title>"
    "<item><title>Hausse des prix à Noël</title><link>http://127.0.0.1/x</link></item>"
    "</channel></rss>"
).encode("latin-1")
IN_AN_HOUR = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)

# name -> (handler, expected error kind, or None when the poll must succeed)
HAZARDS = {
    "drip": (Drip(b"x" * 100_000, interval=0.05, chunk=1), "timeout"),
    "hang": (Hang(), "timeout"),
    "endless": (Endless(headers=RSS), "too_large"),
    "huge-length": (HugeLength(headers=RSS), "too_large"),
    "gzip-bomb": (Bomb("gzip", 64 * 2**20), "too_large"),
    "stacked-gzip": (Compressed(b"<rss/>", ("gzip", "gzip"), RSS), "encoding"),
    "redirect-loop": (None, "redirects"),
    "429-seconds": (Throttle("3600"), "http_status"),
    "429-date": (Throttle(IN_AN_HOUR), "http_status"),
    "503": (Throttle(None, status=503), "http_status"),
    "invalid-xml": ((FEEDS / "invalid.xml").read_bytes(), "feed"),
    "laughs-oneline": ((FEEDS / "billion_laughs_oneline.xml").read_bytes(), "feed"),
    "laughs-multiline": ((FEEDS / "billion_laughs_multiline.xml").read_bytes(), "feed"),
    "xxe": ((FEEDS / "xxe_file.xml").read_bytes(), "feed"),
    "wrong-charset": (
        Reply(LATIN1_FEED, headers={"Content-Type": "text/xml; charset=utf-8"}),
        None,
    ),
    "etag-304": (Conditional((FEEDS / "rss20_fr.xml").read_bytes(), headers=RSS), None),
}


# Retry-After holds back a whole origin (as it should): those hazards get their own.
THROTTLED = {"429-seconds", "429-date", "503"}


@pytest.fixture
def site() -> Iterator[FaultServer]:
    with FaultServer() as server, FaultServer() as throttled:
        serve_site(server)
        for name, (handler, _) in HAZARDS.items():
            if handler is not None:
                (throttled if name in THROTTLED else server).route(f"/{name}", handler)
        server.chain("/loop", 3)  # 0 -> 1 -> 2 -> 3 -> 0 ...
        server.throttled = throttled  # type: ignore[attr-defined]
        yield server


def _config(site: FaultServer, db: str) -> str:
    lines = [
        f"database: {db}",
        "allow_private_networks: true",
        "fetch: {min_delay: 0s, timeout: 2s, max_size: 2MiB, per_host_concurrency: 32}",
        "max_concurrency: 32",
        "sources:",
        f"  - {{name: good, url: '{site.url('/fr/rss.xml')}'}}",
    ]
    for name in HAZARDS:
        path = "/loop/0" if name == "redirect-loop" else f"/{name}"
        host: FaultServer = site.throttled if name in THROTTLED else site  # type: ignore[attr-defined]
        lines.append(f"  - {{name: '{name}', url: '{host.url(path)}'}}")
    lines += [
        "alerts:",
        "  - {name: a, query: Amazon IA licenciements, notify: [console]}",
        "channels:",
        "  console: {type: log}",
    ]
    return "\n".join(lines) + "\n"


async def test_every_hazard_is_recorded_on_its_source_and_bounded(
    tmp_path: Path, db_url: str, site: FaultServer
) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(_config(site, db_url))
    config = parse_config(path.read_text(), str(path), env={})
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    await Daemon(path, config).run_once()
    await Daemon(path, config).run_once()  # twice: the 304 needs a stored ETag
    elapsed = time.monotonic() - started
    growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    # Two passes with 2 s deadlines, all sources at once: bounded, whatever they sent.
    assert elapsed < 30
    assert growth_mb < 50, f"peak memory grew by {growth_mb:.0f} MB"

    store = Store(db_url)
    try:
        rows = {s.name: s for s in source_statuses(store, datetime.now(UTC))}
        articles = {a.source for a in store.iter_articles()}
    finally:
        store.close()
    assert rows["good"].ok and "good" in articles  # the neighbour went through
    for name, (_, kind) in HAZARDS.items():
        row = rows[name]
        if kind is None:
            assert row.ok, (name, row.last_error)
        else:
            assert not row.ok and row.last_error_kind == kind, (
                name,
                row.last_error_kind,
                row.last_error,
            )
    assert rows["etag-304"].polls == 2 and site.hits("/etag-304") == 2
    # Retry-After in either form pushes the next poll past its hour.
    for name in ("429-seconds", "429-date"):
        assert rows[name].next_check is not None
        assert rows[name].next_check > datetime.now(UTC) + timedelta(minutes=55)
    # The XXE feed never read the file it pointed at: nothing was stored from it.
    assert "xxe" not in articles and "laughs-oneline" not in articles
