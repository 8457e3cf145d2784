"""The outbox worker with a frozen clock: digests, flood caps, retries, dead alerts."""

from __future__ import annotations

import io
import json
import random
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import monitor.alerts._outbox as outbox
import monitor.scheduler._delivery as delivery
from monitor.alerts import (
    EmailNotifier,
    LogNotifier,
    Notifier,
    deliver_digests,
    deliver_due,
    parse_schedule,
)
from monitor.config import parse_config
from monitor.fetch import Fetcher
from monitor.observe import Metrics
from monitor.pipeline import Rules, Runtime
from monitor.store import NewAlert, NewArticle, Store, list_alerts
from tests.sitekit import Clock, MailSink

PARIS = ZoneInfo("Europe/Paris")


def _notifier(mail: MailSink) -> dict[str, Notifier]:
    mailer = EmailNotifier(
        host="127.0.0.1", port=mail.port, sender="m@example.org", to=["v@example.org"], tls="none"
    )
    return {"mail": mailer}


def _add(store: Store, n: int, when: datetime, *, digest: bool, channel: str = "mail") -> None:
    url = f"https://news.example.org/story-{n}"
    article = NewArticle(
        url_key=f"k{n}", url=url, canonical_url=url, source="wire", title=f"Story number {n}",
        body=f"Body {n}", first_seen=when, fingerprint=f"fp{n}",
    )  # fmt: skip
    payload = {
        "alert": "watch", "query": "story", "matched": ["story"],
        "article": {"url": url, "title": f"Story number {n}", "source": "wire",
                    "published": when.isoformat(), "language": "en", "snippet": f"Story {n}"},
    }  # fmt: skip
    assert store.insert_article(article, [NewAlert("watch", channel, payload, digest=digest)])


async def test_a_batch_sent_at_once_is_marked_at_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A send's mark waits up to MARK_LINGER for others to share its transaction; once
    # every send of the batch is over none can join, and the wait ends.
    monkeypatch.setattr(outbox, "MARK_LINGER", 30.0)
    now = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    for n in range(20):
        _add(store, n, now, digest=False, channel="console")
    printed = io.StringIO()
    started = time.monotonic()
    stats = await deliver_due(store, {"console": LogNotifier(printed)}, Clock(now))
    assert stats.sent == 20 and time.monotonic() - started < 10
    assert {a["status"] for a in list_alerts(store)} == {"sent"}
    assert printed.getvalue().count("Story number") == 20


async def test_run_once_sends_batch_after_batch_without_pausing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 120 alerts are three rounds of 50: a round that sent its whole batch starts the
    # next at once, and ROUND_PAUSE is only for retries due in a moment.
    monkeypatch.setattr(delivery, "ROUND_PAUSE", 10.0)
    now = datetime.now(UTC)
    for n in range(120):
        _add(store, n, now, digest=False, channel="console")
    config = parse_config("channels:\n  console: {type: log}\n", env={})
    printed = io.StringIO()
    async with Fetcher() as fetcher:
        rt = Runtime(config, store, fetcher, Rules.from_config(config))
        sender = delivery.Delivery(lambda: datetime.now(UTC), Metrics(), "me:1:x")
        started = time.monotonic()
        dead = await sender.drain(rt, {"console": LogNotifier(printed)})
        await rt.aclose()
    assert dead == {} and time.monotonic() - started < 8
    assert {a["status"] for a in list_alerts(store)} == {"sent"}
    assert printed.getvalue().count("Story number") == 120


async def test_daily_digest_goes_out_once_at_its_time(store: Store, mail: MailSink) -> None:
    schedules = {"mail": parse_schedule("daily 08:00", "Europe/Paris")}
    monday_night = datetime(2026, 11, 2, 22, 0, tzinfo=PARIS)
    _add(store, 1, monday_night, digest=True)
    _add(store, 2, monday_night + timedelta(minutes=30), digest=True)
    clock = Clock(datetime(2026, 11, 3, 7, 59, tzinfo=PARIS))
    notifiers = _notifier(mail)
    # Digest alerts never go out one by one.
    assert (await deliver_due(store, notifiers, clock)).sent == 0
    assert await deliver_digests(store, notifiers, schedules, clock) == 0
    clock.now = datetime(2026, 11, 3, 8, 0, 30, tzinfo=PARIS)
    assert await deliver_digests(store, notifiers, schedules, clock) == 1
    assert await deliver_digests(store, notifiers, schedules, clock) == 0
    assert len(mail.messages) == 1
    body = mail.messages[0].get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    assert "Story number 1" in body and "Story number 2" in body
    assert {a["status"] for a in list_alerts(store)} == {"sent"}
    # An alert after the digest waits for the next morning.
    _add(store, 3, datetime(2026, 11, 3, 9, 0, tzinfo=PARIS), digest=True)
    clock.now = datetime(2026, 11, 3, 20, 0, tzinfo=PARIS)
    assert await deliver_digests(store, notifiers, schedules, clock) == 0
    clock.now = datetime(2026, 11, 4, 8, 1, tzinfo=PARIS)
    assert await deliver_digests(store, notifiers, schedules, clock) == 1
    assert len(mail.messages) == 2


async def test_digest_due_while_stopped_is_sent_at_start(store: Store, mail: MailSink) -> None:
    schedules = {"mail": parse_schedule("daily 08:00", "Europe/Paris")}
    _add(store, 1, datetime(2026, 11, 2, 9, 0, tzinfo=PARIS), digest=True)
    # The daemon was down on Tuesday and Wednesday mornings; it starts Wednesday at noon.
    clock = Clock(datetime(2026, 11, 4, 12, 0, tzinfo=PARIS))
    assert await deliver_digests(store, _notifier(mail), schedules, clock) == 1
    assert await deliver_digests(store, _notifier(mail), schedules, clock) == 0
    assert len(mail.messages) == 1


async def test_flood_cap_folds_the_excess_into_the_next_digest(
    store: Store, mail: MailSink
) -> None:
    start = datetime(2026, 11, 3, 10, 5, tzinfo=UTC)
    for n in range(5):
        _add(store, n, start, digest=False)
    clock = Clock(start)
    notifiers = _notifier(mail)
    stats = await deliver_due(store, notifiers, clock, caps={"mail": 2})
    assert stats.sent == 2 and len(mail.messages) == 2
    assert sorted(a["status"] for a in list_alerts(store)) == ["digest"] * 3 + ["sent"] * 2
    hourly = {"mail": parse_schedule("hourly")}
    assert await deliver_digests(store, notifiers, hourly, clock) == 0
    clock.now = start + timedelta(hours=1)
    assert await deliver_digests(store, notifiers, hourly, clock) == 1
    assert len(mail.messages) == 3 and {a["status"] for a in list_alerts(store)} == {"sent"}


async def test_failures_back_off_then_die_after_the_maximum_age(store: Store) -> None:
    start = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
    _add(store, 1, start, digest=False)
    # Nothing listens on this port: every attempt fails.
    dead_smtp = EmailNotifier(
        host="127.0.0.1",
        port=9,
        sender="m@example.org",
        to=["v@example.org"],
        tls="none",
        timeout=2,
    )
    clock = Clock(start)
    rng = random.Random(1)
    stats = await deliver_due(store, {"mail": dead_smtp}, clock, rng)
    assert stats.failed == 1
    alert = list_alerts(store)[0]
    assert alert["status"] == "failed" and alert["attempts"] == 1
    # Not retried before its backoff runs out.
    assert (await deliver_due(store, {"mail": dead_smtp}, clock, rng)).failed == 0
    assert store.next_outbox_attempt(["mail"]) > start  # type: ignore[operator]
    clock.now = start + timedelta(days=4)
    stats = await deliver_due(store, {"mail": dead_smtp}, clock, rng)
    assert stats.dead == 1 and list_alerts(store)[0]["status"] == "dead"


async def test_apprise_channel_delivers_and_retries_through_the_outbox(store: Store) -> None:
    from monitor.alerts import AppriseNotifier
    from tests.faultserver import FaultServer, Reply, Sequence

    start = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
    _add(store, 1, start, digest=False)
    with FaultServer() as chat:
        # The chat service is down once, then accepts.
        chat.route("/notify", Sequence(Reply(b"down", status=500), Reply(b"{}", status=200)))
        url = chat.url("/notify").replace("http://", "json://")
        notifiers: dict[str, Notifier] = {"mail": AppriseNotifier(urls=[url], timeout=10)}
        clock = Clock(start)
        assert (await deliver_due(store, notifiers, clock, random.Random(3))).failed == 1
        clock.now = start + timedelta(hours=1)
        assert (await deliver_due(store, notifiers, clock, random.Random(3))).sent == 1
        posts = chat.requests_to("/notify")
    assert len(posts) == 2
    body = json.loads(posts[-1].body)
    assert body["title"] == "[watch] Story number 1"
    assert "https://news.example.org/story-1" in body["message"]
    assert list_alerts(store)[0]["status"] == "sent"


def test_apprise_urls_are_checked_and_never_echoed() -> None:
    from monitor.alerts import AppriseNotifier
    from monitor.errors import ConfigError

    with pytest.raises(ConfigError, match="apprise URL #2") as info:
        AppriseNotifier(urls=["json://127.0.0.1/x", "nosuchscheme://s3cr3t-token@host"])
    assert "s3cr3t" not in str(info.value)


def test_a_delivery_log_line_names_the_alert_channel_and_status(
    store: Store, mail: MailSink
) -> None:
    """The lines an operator greps: the formatter really prints the structured fields."""
    import asyncio
    import io
    import logging

    from monitor.observe import setup_logging

    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    setup_logging("kv", "INFO", stream)
    try:
        _add(store, 1, datetime(2026, 11, 3, 9, 0, tzinfo=UTC), digest=False)
        clock = Clock(datetime(2026, 11, 3, 9, 1, tzinfo=UTC))
        stats = asyncio.run(deliver_due(store, _notifier(mail), clock))
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    assert stats.sent == 1
    [alert] = list_alerts(store)
    lines = stream.getvalue().splitlines()
    sent = [line for line in lines if 'event="alert sent"' in line]
    assert len(sent) == 1, lines
    for field in ("alert=watch", "channel=mail", "status=sent", f"alert_id={alert['alert_id']}"):
        assert field in sent[0]
    [email] = [line for line in lines if 'event="email sent"' in line]
    assert (
        f"alert_id={alert['alert_id']}" in email and "url=https://news.example.org/story-1" in email
    )
