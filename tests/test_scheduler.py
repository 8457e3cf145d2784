"""The daemon as users run it: a subprocess, its logs, /healthz, /metrics, SIGHUP, SIGTERM.

What returns by itself (``run --once`` failing) runs in process instead.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.clikit import Result
from tests.faultserver import FaultServer
from tests.sitekit import free_port, serve_site


class Daemon:
    """``monitor run`` in a subprocess, its stderr collected line by line."""

    def __init__(self, cwd: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", *args],
            cwd=cwd, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 30.0, after: int = 0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[after:]:
                if text in line:
                    return line
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not logged; got:\n" + "\n".join(self.lines[-30:]))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def _config(site: FaultServer, extra: str = "") -> str:
    return f"""\
allow_private_networks: true
database: sqlite:///monitor.db
fetch: {{min_delay: 0s, timeout: 3s}}
sources:
  - name: qdn-tech
    url: {site.url("/fr/rss.xml")}
    interval: 30s
{extra}alerts:
  - name: amazon-ia-licenciements
    query: Amazon IA licenciements
    notify: [console]
channels:
  console: {{type: log}}
"""


@pytest.fixture
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        serve_site(server)
        yield server


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_daemon_migrates_serves_metrics_reloads_and_stops_cleanly(
    tmp_path: Path, site: FaultServer
) -> None:
    (tmp_path / "sources.yaml").write_text(_config(site))
    port = free_port()
    daemon = Daemon(tmp_path, "run", "--http", f"127.0.0.1:{port}")
    try:
        line = daemon.wait_for("event=scheduled source=qdn-tech")
        assert "every=30s" in line
        # A fresh directory: SQLite created and migrated to the latest revision.
        with sqlite3.connect(tmp_path / "monitor.db") as db:
            tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
            assert {"alembic_version", "sources", "articles", "outbox", "stories"} <= tables
        daemon.wait_for('event="poll done" source=qdn-tech')
        daemon.wait_for('event="alert sent"')

        status, body = _get(f"http://127.0.0.1:{port}/healthz")
        assert (status, body.strip()) == (200, "ok")
        status, body = _get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body)
            for s in family.samples
        }
        assert samples[("monitor_polls_total", (("outcome", "ok"), ("source", "qdn-tech")))] == 1
        assert samples[("monitor_articles_total", (("result", "new"), ("source", "qdn-tech")))] == 2
        assert samples[("monitor_alerts_delivered_total", (("channel", "console"),))] == 1
        # The web view answers beside them, on the daemon's own database.
        status, body = _get(f"http://127.0.0.1:{port}/api/sources")
        assert status == 200 and '"qdn-tech"' in body

        # A bad edit is refused with its line; the running config stays.
        mark = len(daemon.lines)
        (tmp_path / "sources.yaml").write_text(
            _config(site).replace("interval: 30s", "interval: soon")
        )
        daemon.proc.send_signal(signal.SIGHUP)
        refused = daemon.wait_for("reload refused", after=mark)
        assert "sources.yaml:7" in refused and "sources[0].interval" in refused
        # A good edit is applied without a restart.
        extra = f"  - name: ledger\n    url: {site.url('/en/atom.xml')}\n"
        (tmp_path / "sources.yaml").write_text(_config(site, extra))
        mark = len(daemon.lines)
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_for("event=reloaded sources=2", after=mark)
        daemon.wait_for('event="poll done" source=ledger', after=mark)
        # Saving the file is enough: the daemon notices and reloads by itself.
        mark = len(daemon.lines)
        (tmp_path / "sources.yaml").write_text(_config(site) + "\n# edited\n")
        daemon.wait_for('event="config file changed"', after=mark)
        daemon.wait_for("event=reloaded sources=1", after=mark)

        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=30) == 0
        daemon.wait_for("event=stopped")
    finally:
        daemon.stop()


def test_unreachable_database_exits_non_zero(
    tmp_path: Path, site: FaultServer, run_cli: Callable[..., Result]
) -> None:
    # In process: ``run --once`` returns on its own, no signal or live daemon involved.
    config = _config(site).replace(
        "database: sqlite:///monitor.db", "database: postgresql://nobody@127.0.0.1:9/none"
    )
    (tmp_path / "sources.yaml").write_text(config)
    res = run_cli("run", "--once", cwd=tmp_path)
    assert res.code == 3
    assert "cannot open the database postgresql://nobody@127.0.0.1:9/none" in res.err


def test_owner_is_dead_only_for_processes_known_gone() -> None:
    from monitor.scheduler import owner_is_dead

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    me = f"box:{os.getpid()}:aaaa"
    cases = {
        f"box:{gone.pid}:bbbb": True,  # exited on this host
        f"box:{os.getpid()}:bbbb": True,  # an earlier life of this very pid
        me: False,  # ourselves
        f"box:{os.getppid()}:cccc": False,  # a live process
        f"elsewhere:{gone.pid}:dddd": False,  # another host: cannot tell
        "garbage": False,
    }
    assert {owner: owner_is_dead(owner, me) for owner in cases} == cases


async def test_daemon_sends_a_digest_that_fell_due_while_it_was_down(
    tmp_path: Path, db_url: str
) -> None:
    import asyncio
    import json
    from datetime import UTC, datetime, timedelta

    from monitor.config import parse_config
    from monitor.scheduler import Daemon
    from monitor.store import NewAlert, NewArticle, Store, list_alerts
    from tests.faultserver import Reply

    with FaultServer() as hooks:
        hooks.route("/hook", Reply(b"", status=204))
        text = f"""\
database: {db_url}
allow_private_networks: true
channels:
  hook: {{type: webhook, url: "{hooks.url("/hook")}", secret: s3cret, mode: digest, digest: hourly}}
"""
        path = tmp_path / "sources.yaml"
        path.write_text(text)
        config = parse_config(text, str(path), env={})
        store = Store(db_url)
        store.migrate()
        # An alert queued for the digest two hours ago, before the daemon went down.
        then = datetime.now(UTC) - timedelta(hours=2)
        url = "https://news.example.org/a"
        article = NewArticle(
            url_key="a", url=url, canonical_url=url, source="wire", title="Digest me",
            body="Body", first_seen=then,
        )  # fmt: skip
        payload = {
            "alert": "watch", "query": "x", "matched": ["x"],
            "article": {"url": url, "title": "Digest me", "source": "wire",
                        "published": then.isoformat(), "language": "en", "snippet": "s"},
        }  # fmt: skip
        assert store.insert_article(article, [NewAlert("watch", "hook", payload, digest=True)])
        daemon = Daemon(path, config, grace=5)
        runner = asyncio.create_task(daemon.run())
        try:
            for _ in range(200):
                if hooks.hits("/hook"):
                    break
                await asyncio.sleep(0.05)
        finally:
            daemon.stop()
            await asyncio.wait_for(runner, 30)
        (post,) = hooks.requests_to("/hook")
        body = json.loads(post.body)
        assert body["type"] == "digest" and body["alerts"][0]["article"]["title"] == "Digest me"
        assert [a["status"] for a in list_alerts(store)] == ["sent"]
        store.close()
