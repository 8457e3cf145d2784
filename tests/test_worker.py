"""`monitor worker` as a cluster: real worker processes on a fresh PostgreSQL database,
feeds on loopback hosts, a webhook receiver counting by webhook-id.

- A worker SIGKILLed in mid-poll and another in mid-send lose nothing: the source is
  polled again within its interval plus a minute, every alert arrives, none twice.
- Two workers together keep ``per_host_concurrency`` at every origin.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.crashkit import ForkSpawner, Process, exit_code
from tests.faultserver import Delay, FaultServer, Reply
from tests.workerkit import (
    RSS,
    HeldFeed,
    Hook,
    Site,
    fresh_database,
    pid_of_port,
    wait_for,
    write_config,
)

INTERVAL = 30  # seconds, the shortest the config allows


@pytest.fixture(scope="module")
def spawner(postgres_url: str) -> Iterator[ForkSpawner]:
    # postgres_url: skipped without PostgreSQL, failed when MONITOR_REQUIRE_POSTGRES says
    # it must be there; each test makes a database of its own on that server.
    zygote = ForkSpawner()
    try:
        yield zygote
    finally:
        zygote.close()


class Cluster:
    """Worker processes on one config; each logs to its own file."""

    def __init__(self, spawner: ForkSpawner, config: Path) -> None:
        self.spawner, self.config = spawner, config
        self.procs: list[Process] = []
        self.dead: set[int] = set()

    def start(self) -> Process:
        log = self.config.parent / f"worker-{len(self.procs)}.log"
        argv = ["--log-format", "json", "--config", str(self.config), "worker"]
        proc = self.spawner.start(argv, log)
        self.procs.append(proc)
        return proc

    def alive(self) -> list[int]:
        return [p.pid for p in self.procs if p.pid not in self.dead]

    def failed(self) -> bool:
        """Whether a worker not killed by the test has exited (a bad start)."""
        return any(exit_code(p, 0) is not None for p in self.procs if p.pid not in self.dead)

    def kill(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)
        self.dead.add(pid)

    def stop(self) -> list[int | None]:
        for pid in self.alive():
            os.kill(pid, signal.SIGTERM)
        return [exit_code(p, 40) for p in self.procs if p.pid not in self.dead]

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:]
            for p in sorted(self.config.parent.glob("worker-*.log"))
        )


def test_worker_refuses_sqlite_with_a_clear_message(run_cli: Any, tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(f"database: sqlite:///{tmp_path / 'monitor.db'}\n")
    res = run_cli("--config", str(config), "worker")
    assert res.code == 2
    assert "monitor worker needs PostgreSQL" in res.err and "monitor run" in res.err
    assert not (tmp_path / "monitor.db").exists()  # refused before touching anything


def test_worker_refuses_an_unknown_queue(run_cli: Any, tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text("database: postgresql://nobody@127.0.0.1:1/none\n")
    res = run_cli("--config", str(config), "worker", "--queues", "poll,mail")
    assert res.code == 2 and "unknown queue(s) mail" in res.err


def _registered(database: str) -> int:
    import psycopg

    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()
    return int(row[0]) if row else 0


def _ready(database: str, n: int) -> bool:
    try:
        return _registered(database) >= n
    except Exception:  # the schema is not there until the first worker migrated
        return False


def test_workers_killed_mid_poll_and_mid_send_lose_and_repeat_nothing(
    spawner: ForkSpawner, tmp_path: Path
) -> None:
    with (
        fresh_database() as db,
        FaultServer("127.0.0.2") as host_a,
        FaultServer("127.0.0.3") as host_b,
        FaultServer("127.0.0.4") as slow_host,
        FaultServer("127.0.0.1") as receiver,
    ):
        sites = [Site(host_a, 0, 2, 4), Site(host_b, 100, 2, 4), Site(slow_host, 200, 1, 4)]
        held_feed = HeldFeed(sites[2]._feed(0), hold=40)
        slow_host.route("/feeds/0.xml", held_feed)
        hook = Hook(delay=0.02)
        config = write_config(
            tmp_path, db, sites, receiver.route("/hook", hook), interval=f"{INTERVAL}s"
        )
        cluster = Cluster(spawner, config)
        codes: list[int | None] = []
        try:
            cluster.start()
            cluster.start()
            # Mid-poll: whoever holds the slow feed's request dies with it.
            assert held_feed.held.wait(90), cluster.logs()
            assert held_feed.held_port is not None
            poller = pid_of_port(held_feed.held_port, cluster.alive())
            assert poller is not None, "the slow poll's connection belongs to no worker"
            hook.hold()  # sends wait from now on: their sender is the next to die
            cluster.kill(poller)
            killed_at = time.monotonic()
            cluster.start()  # two workers again
            assert hook.held.wait(90), cluster.logs()
            assert hook.held_port is not None
            # Time for the sender's other sends to reach the receiver and wait too (one
            # sender per channel: they are all its own), then it dies with them. An
            # alert answered and not yet marked when a sender dies is sent again: that
            # window (at least once, same webhook-id) is not what this test is about.
            time.sleep(2.0)
            sender = pid_of_port(hook.held_port, cluster.alive())
            assert sender is not None, "the held send's connection belongs to no live worker"
            cluster.kill(sender)
            assert wait_for(lambda: hook.cut >= 1, 10)
            hook.release()

            expected = set().union(*(s.matching_urls() for s in sites))
            assert wait_for(lambda: hook.delivered_urls() >= expected, 120), (
                f"missing {sorted(expected - hook.delivered_urls())}\n{cluster.logs()}"
            )
            time.sleep(3)  # a late second delivery would show by now
        finally:
            codes = cluster.stop()
        assert hook.duplicates() == 0, hook.accepted.most_common(3)
        assert hook.delivered_urls() == expected
        assert hook.cut >= 1  # sends cut by the kill, then made again by another worker
        later = [t for t in held_feed.times if t > killed_at]
        assert later and later[0] - killed_at <= INTERVAL + 60
        assert codes == [0], cluster.logs()  # the survivor stops cleanly on SIGTERM


def test_two_workers_keep_per_host_concurrency_at_every_origin(
    spawner: ForkSpawner, tmp_path: Path
) -> None:
    import psycopg

    from monitor.store import SourceSpec, Store

    with (
        fresh_database() as db,
        FaultServer("127.0.0.5") as host_a,
        FaultServer("127.0.0.6") as host_b,
        FaultServer("127.0.0.1") as receiver,
    ):
        sites = [Site(h, first, 8, 2, page_delay=0.4) for h, first in ((host_a, 0), (host_b, 100))]
        for site in sites:  # slow feeds too: each poll holds a slot a while
            for k in range(site.feeds):
                site.server.route(f"/feeds/{k}.xml", Delay(1.0, Reply(site._feed(k), headers=RSS)))
        config = write_config(tmp_path, db, sites, receiver.route("/hook", Hook()), per_host=2)
        # Sources exist before the workers start, due in an hour: the workers' own sync
        # leaves them alone, and the test makes them due one after another below.
        store = Store(db)
        store.migrate()
        specs = [
            SourceSpec(f"s{n}-{k}", url, "feed", INTERVAL)
            for n, site in enumerate(sites)
            for k, url in enumerate(site.feed_urls())
        ]
        store.sync_sources(specs, datetime.now(UTC) + timedelta(hours=1))
        store.close()
        cluster = Cluster(spawner, config)
        try:
            cluster.start()
            cluster.start()
            assert wait_for(lambda: _ready(db, 2) or cluster.failed(), 90), cluster.logs()
            assert not cluster.failed(), cluster.logs()
            # Due every 0.3 s, so new poll jobs of a partition keep coming while its
            # earlier ones still run: only the partition's lock keeps them apart.
            with psycopg.connect(db) as conn:
                conn.execute(
                    "UPDATE sources SET next_check = (now() AT TIME ZONE 'utc')"
                    " + (id * interval '300 milliseconds')"
                )
            total = sum(len(s.articles()) for s in sites)
            done = wait_for(lambda: sum(s.server.hits() for s in sites) >= total + len(specs), 90)
            assert done, cluster.logs()
        finally:
            cluster.stop()
        peaks = [s.server.max_concurrency() for s in sites]
        assert max(peaks) <= 2, peaks
        assert max(peaks) == 2, peaks  # the origins were really busy, so it could fail


def test_a_rule_synced_while_workers_run_is_live_on_both_within_seconds(
    spawner: ForkSpawner, tmp_path: Path
) -> None:
    """The rules table is what every worker matches with: an alert another worker's
    sources.yaml adds reaches both running workers (NOTIFY) without a restart."""
    import psycopg

    from monitor.config import load_config
    from monitor.pipeline import sync_rules
    from monitor.store import SourceSpec, Store

    with (
        fresh_database() as db,
        FaultServer("127.0.0.7") as host,
        FaultServer("127.0.0.1") as receiver,
    ):
        site = Site(host, 0, 1, 4)
        hook = Hook()
        config = write_config(tmp_path, db, [site], receiver.route("/hook", hook))
        store = Store(db)
        store.migrate()
        specs = [
            SourceSpec(f"s0-{k}", url, "feed", INTERVAL) for k, url in enumerate(site.feed_urls())
        ]
        store.sync_sources(specs, datetime.now(UTC) + timedelta(hours=1))  # not due yet
        cluster = Cluster(spawner, config)
        try:
            cluster.start()
            cluster.start()
            assert wait_for(lambda: _ready(db, 2) or cluster.failed(), 90), cluster.logs()
            assert not cluster.failed(), cluster.logs()
            # Another sources.yaml with one alert more, synced as a third worker's start
            # would: "Amazon" alone matches the odd articles too.
            other = tmp_path / "other"
            other.mkdir()
            text = config.read_text().replace(
                "alerts:\n", "alerts:\n  - {name: amazon-any, query: Amazon, notify: [hook]}\n"
            )
            (other / "sources.yaml").write_text(text)
            synced_at = time.monotonic()
            sync_rules(store, load_config(other / "sources.yaml"))

            def updated_everywhere() -> bool:
                logs = [p.read_text(errors="replace") for p in tmp_path.glob("worker-*.log")]
                # Each worker logs "rules updated" once when it starts, once per change.
                return len(logs) == 2 and all(log.count('"rules updated"') >= 2 for log in logs)

            assert wait_for(updated_everywhere, 10), cluster.logs()
            assert time.monotonic() - synced_at < 5
            with psycopg.connect(db) as conn:
                conn.execute("UPDATE sources SET next_check = now() AT TIME ZONE 'utc'")
            everything = {site.url(i) for i in site.articles()}
            assert wait_for(lambda: hook.delivered_urls() >= everything, 60), cluster.logs()
        finally:
            store.close()
            cluster.stop()
        assert hook.delivered_urls() == everything  # odd articles: only the synced alert
        assert hook.duplicates() == 0
