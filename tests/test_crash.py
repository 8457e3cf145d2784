"""The delivery guarantee under crashes (issue 7): SIGKILL storms and SIGTERM mid-send.

The daemon runs against a site whose feeds keep growing, a real SMTP sink and a webhook
receiver that fails one request in five; it is killed at random moments at least thirty
times, then a clean run finishes the work. The audit in ``tests.crashkit`` then checks
what users would notice: every matching article reached every channel, nothing else
did, a repeat carries the id of the first, and the database is sound.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.store import Store, list_alerts
from tests.crashkit import (
    Audit,
    Delivery,
    ExecSpawner,
    ForkSpawner,
    GrowingSite,
    HookReceiver,
    Life,
    audit,
    exit_code,
    settle,
    slow_mail_sink,
    storm,
    write_config,
)
from tests.faultserver import FaultServer

KILLS = 30
GRACE = 20.0  # Daemon.grace


@dataclasses.dataclass
class StormResult:
    config: Path
    site: GrowingSite
    received: list[Delivery]
    lives: list[Life]
    rejected: int
    requeued: int
    audit: Audit


@pytest.fixture(scope="module")
def zygote() -> Iterator[ForkSpawner]:
    spawner = ForkSpawner()
    try:
        yield spawner
    finally:
        spawner.close()


@pytest.fixture(scope="module")
def stormed(tmp_path_factory: pytest.TempPathFactory, zygote: ForkSpawner) -> Iterator[StormResult]:
    """One storm for the module: thirty SIGKILLs, then a clean run, then the audit."""
    directory = tmp_path_factory.mktemp("storm")
    with FaultServer() as server, slow_mail_sink(hold=0.05) as mail:
        site = GrowingSite(server, feeds=6, total=500, every=0.4, initial=6)
        hook = HookReceiver(fail_every=5, hold=0.05)
        config = write_config(directory, site, server.route("/hook", hook), mail.port)
        lives = storm(
            zygote, config, kills=KILLS, seed=20261128, once_share=0.85,
            windows=(1.0, 6.0), busy=lambda: server.hits() + len(mail.messages),
        )  # fmt: skip
        site.freeze()
        requeued = settle(zygote, config)
        received = [*mail.deliveries(), *hook.accepted]
        result = audit(config, site, received)
        yield StormResult(config, site, received, lives, hook.rejected, requeued, result)


def test_sigkill_storm_delivers_everything_once_per_id(stormed: StormResult) -> None:
    result = stormed.audit
    kills = [life for life in stormed.lives if life.code == -signal.SIGKILL]
    print(
        f"\n{len(stormed.lives)} lives, {len(kills)} SIGKILLs; last events before a kill: "
        f"{dict(Counter(life.last_event for life in kills))}\n{result.published} articles, "
        f"{result.expected} expected deliveries, received {dict(result.deliveries)}, "
        f"repeats {dict(result.repeats)}, webhook 500s {stormed.rejected}, "
        f"requeued out of a backoff {stormed.requeued}"
    )
    assert len(kills) >= KILLS
    assert {life.mode for life in kills} == {"run", "once"}
    assert result.problems == []
    # The run was a real one: the site grew, the receiver refused, alerts went out.
    assert result.expected >= 40 and stormed.rejected > 0


def _drop_first(received: list[Delivery]) -> list[Delivery]:
    return received[1:]


def _resend_under_new_id(received: list[Delivery]) -> list[Delivery]:
    return [*received, dataclasses.replace(received[0], alert_id="msg_someotherid")]


def _forge_signature(received: list[Delivery]) -> list[Delivery]:
    hook = next(d for d in received if d.channel == "ops-hook")
    return [*received, dataclasses.replace(hook, problem="bad signature")]


def _alert_a_non_match(received: list[Delivery]) -> list[Delivery]:
    return [*received, dataclasses.replace(received[0], url=received[0].url[:-1] + "1")]


@pytest.mark.parametrize(
    ("tamper", "complaint"),
    [
        (_drop_first, "never delivered"),
        (_resend_under_new_id, "one alert under several ids"),
        (_forge_signature, "bad webhooks"),
        (_alert_a_non_match, "delivered though the article does not match"),
    ],
)
def test_the_audit_notices_what_users_would(
    stormed: StormResult, tamper: Callable[[list[Delivery]], list[Delivery]], complaint: str
) -> None:
    received = sorted(stormed.received, key=lambda d: (d.url, d.channel))
    # Keep a delivery that was received once only, so dropping it loses it.
    counts = Counter((d.url, d.channel) for d in received)
    received.sort(key=lambda d: counts[(d.url, d.channel)])
    problems = audit(stormed.config, stormed.site, tamper(received)).problems
    assert any(p.startswith(complaint) for p in problems), problems


def test_sigterm_mid_send_finishes_the_send_exits_zero_and_loses_nothing(
    tmp_path: Path, zygote: ForkSpawner
) -> None:
    with FaultServer() as server, slow_mail_sink(hold=3.0) as mail:
        site = GrowingSite(server, feeds=1, total=2, every=0, initial=2)
        hook = HookReceiver(fail_every=0, hold=3.0)
        config = write_config(tmp_path, site, server.route("/hook", hook), mail.port)
        argv = ["--config", str(config), "--log-format", "json", "run"]
        daemon = ExecSpawner().start(argv, tmp_path / "daemon.log")
        try:
            deadline = time.monotonic() + 60
            while not (hook.in_flight and mail.in_flight):
                assert exit_code(daemon, 0.02) is None, (tmp_path / "daemon.log").read_text()
                assert time.monotonic() < deadline, "no send in flight within a minute"
            stopped = time.monotonic()
            os.kill(daemon.pid, signal.SIGTERM)
            code = exit_code(daemon, GRACE + 10)
            took = time.monotonic() - stopped
        finally:
            if exit_code(daemon, 0) is None:
                os.kill(daemon.pid, signal.SIGKILL)
                daemon.wait(10)
        log = (tmp_path / "daemon.log").read_text()
        assert code == 0, log[-3000:]
        assert took < GRACE, took
        # The sends in flight were finished, not cut: the receivers' answers (3 s away)
        # were awaited and recorded before exit, and nothing was cancelled half-way.
        assert took >= 2.0, took
        assert '"level": "error"' not in log and "CancelledError" not in log, log[-3000:]
        store = Store(load_config(config, env={}).database)
        try:
            statuses = {a["channel"]: a["status"] for a in list_alerts(store)}
        finally:
            store.close()
        assert statuses == {"team-mail": "sent", "ops-hook": "sent"}, statuses
        # Whatever a stopped daemon leaves unsent, the next run sends with the same id.
        settle(zygote, config)
        result = audit(config, site, [*mail.deliveries(), *hook.accepted])
    print(f"\nexited {code} {took:.1f} s after SIGTERM; received {dict(result.deliveries)}")
    assert result.problems == []
    assert result.expected == 2 and set(result.deliveries) == {"team-mail", "ops-hook"}
