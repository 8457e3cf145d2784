"""A cluster on one machine for worker tests and bench/scale.py: a fresh PostgreSQL
database, news sites on loopback addresses 127.0.0.x (one host each), a webhook
receiver that counts what it accepted by webhook-id, and real ``monitor worker``
processes (forked from crashkit's zygote, so each start skips a second of imports).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from tests.crashkit import RULE, article_text
from tests.faultserver import Exchange, FaultServer, Reply

HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml"}


def admin_url() -> str:
    url = os.environ.get(
        "MONITOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    return url.replace("postgresql+psycopg://", "postgresql://")


@contextmanager
def fresh_database(prefix: str = "monitor_w") -> Iterator[str]:
    """A new PostgreSQL database (dropped after); yields its postgresql:// URL."""
    import psycopg

    admin = admin_url()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Site:
    """One host (127.0.0.x): RSS feeds ``/feeds/<k>.xml`` of ``per_feed`` articles each,
    article ``i`` being crashkit's ``article_text(i)`` (even ones match ``RULE``)."""

    server: FaultServer
    first: int  # the number of this site's first article
    feeds: int
    per_feed: int
    page_delay: float = 0.0
    born: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(minutes=10))

    def __post_init__(self) -> None:
        for i in self.articles():
            self.server.route(f"/articles/{i}", self._page(i))
        for k in range(self.feeds):
            self.server.route(f"/feeds/{k}.xml", Reply(self._feed(k), headers=RSS))

    def articles(self) -> range:
        return range(self.first, self.first + self.feeds * self.per_feed)

    def url(self, i: int) -> str:
        return self.server.url(f"/articles/{i}")

    def feed_urls(self) -> list[str]:
        return [self.server.url(f"/feeds/{k}.xml") for k in range(self.feeds)]

    def matching_urls(self) -> set[str]:
        return {self.url(i) for i in self.articles() if i % 2 == 0}

    def _page(self, i: int) -> Callable[[Exchange], None]:
        title, paragraphs = article_text(i)
        when = (self.born + timedelta(seconds=i)).isoformat()
        body = (
            f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta property="article:published_time" content="{when}">'
            f'<link rel="canonical" href="{self.url(i)}"></head><body><main><article>'
            f"<h1>{title}</h1>{''.join(f'<p>{p}</p>' for p in paragraphs)}</article></main>"
            "</body></html>"
        ).encode()
        delay = self.page_delay

        def handler(exchange: Exchange) -> None:
            if delay == 0 or exchange.pause(delay):
                exchange.respond(200, HTML, body)

        return handler

    def _feed(self, k: int) -> bytes:
        start = self.first + k * self.per_feed
        items = "".join(
            f"<item><title>{article_text(i)[0]}</title><link>{self.url(i)}</link>"
            f"<guid>w-{i}</guid><pubDate>{format_datetime(self.born + timedelta(seconds=i))}"
            "</pubDate></item>"
            for i in range(start, start + self.per_feed)
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Site {self.server.origin} {k}</title><link>{self.server.origin}/</link>"
            f"<description>feed {k}</description><language>fr</language>{items}"
            "</channel></rss>"
        ).encode()


class Hook:
    """A webhook receiver: answers 204 after ``delay`` seconds and counts the webhook-id
    as accepted only if the sender is still there to read the answer (a sender killed
    meanwhile has delivered nothing). Between ``hold()`` and ``release()`` every request
    waits, and the first one's client port is kept, so a test can kill that sender with
    all its sends in flight."""

    def __init__(self, delay: float = 0.02) -> None:
        self.delay = delay
        self.accepted: Counter[str] = Counter()
        self.urls: dict[str, str] = {}
        self.cut = 0  # requests whose sender vanished before the answer
        self.held_port: int | None = None
        self.held = threading.Event()
        self.first_at: float | None = None  # monotonic times of the first and last accept
        self.last_at: float | None = None
        self._holding = threading.Event()
        self._lock = threading.Lock()

    def hold(self) -> None:
        self._holding.set()

    def release(self) -> None:
        self._holding.clear()

    def __call__(self, exchange: Exchange) -> None:
        if self._holding.is_set():
            with self._lock:
                if self.held_port is None:
                    self.held_port = exchange._http.client_address[1]
                    self.held.set()
            while self._holding.is_set() and not exchange.client_gone():
                if not exchange.pause(0.05):
                    return
        elif not exchange.pause(self.delay):
            return
        if exchange.client_gone():
            with self._lock:
                self.cut += 1
            return
        hook_id = exchange.request.headers.get("webhook-id", "")
        try:
            url = str(json.loads(exchange.request.body)["article"]["url"])
        except (KeyError, TypeError, ValueError):
            url = ""
        exchange.respond(204)
        with self._lock:
            self.accepted[hook_id] += 1
            self.urls[hook_id] = url
            self.last_at = time.monotonic()
            if self.first_at is None:
                self.first_at = self.last_at

    def duplicates(self) -> int:
        with self._lock:
            return sum(n - 1 for n in self.accepted.values() if n > 1)

    def delivered_urls(self) -> set[str]:
        with self._lock:
            return set(self.urls.values())


class HeldFeed:
    """A feed whose first request is held ``hold`` seconds (a slow page to kill a
    worker on); every later request gets ``body`` at once."""

    def __init__(self, body: bytes, hold: float) -> None:
        self.body, self.hold = body, hold
        self.held_port: int | None = None
        self.held = threading.Event()
        self.times: list[float] = []  # monotonic start of each request
        self._lock = threading.Lock()

    def __call__(self, exchange: Exchange) -> None:
        with self._lock:
            self.times.append(time.monotonic())
            first = len(self.times) == 1
        if first:
            self.held_port = exchange._http.client_address[1]
            self.held.set()
            if not exchange.pause(self.hold):
                return
        exchange.respond(200, RSS, self.body)


def pid_of_port(port: int, pids: list[int]) -> int | None:
    """Which of ``pids`` owns the TCP socket bound to local ``port`` (Linux /proc)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(cols[9])
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return pid
    return None


def write_config(
    directory: Path,
    database: str,
    sites: list[Site],
    hook_url: str,
    *,
    interval: str = "30s",
    per_host: int = 2,
    rules: int = 1,
    extra_sources: str = "",
    concurrency: int = 4,
) -> Path:
    """sources.yaml for the cluster: every feed of every site, ``rules`` alerts that
    all match the even articles, and the webhook channel."""
    sources = "".join(
        f"  - {{name: s{n}-{k}, url: '{url}', interval: {interval}, language: fr}}\n"
        for n, site in enumerate(sites)
        for k, url in enumerate(site.feed_urls())
    )
    alerts = "".join(
        f"  - {{name: {RULE}{'' if r == 0 else f'-{r}'}, query: Amazon IA licenciements,"
        " notify: [hook]}\n"
        for r in range(rules)
    )
    path = directory / "sources.yaml"
    path.write_text(
        f"database: '{database}'\nallow_private_networks: true\n"
        f"fetch: {{min_delay: 0s, timeout: 30s, per_host_concurrency: {per_host}}}\n"
        f"max_concurrency: 32\nsources:\n{sources}{extra_sources}alerts:\n{alerts}"
        f"channels:\n  hook: {{type: webhook, url: '{hook_url}', secret: s3cret-hook,"
        f" timeout: 30, concurrency: {concurrency}}}\n"
    )
    return path


def wait_for(check: Callable[[], bool], timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return check()
