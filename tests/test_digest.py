"""Digest schedules across the clock changes of Europe/Paris, delivery on a frozen clock
(weekly and cron forms), and what the CLI shows of alerts waiting for a digest."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.alerts import EmailNotifier, Notifier, deliver_digests, parse_schedule
from monitor.store import NewAlert, NewArticle, Store, list_alerts
from tests.clikit import Result
from tests.sitekit import Clock, MailSink

PARIS = ZoneInfo("Europe/Paris")
Run = Callable[..., Result]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


u, p = utc, paris


# 2026: clocks go forward on Sunday 29 March at 02:00 (CET -> CEST) and back on
# Sunday 25 October at 03:00 (CEST -> CET).
@pytest.mark.parametrize(
    ("schedule", "now", "last", "next_"),
    [
        # 08:00 Paris is 07:00Z in winter, 06:00Z in summer: the time that stays put is local.
        ("daily 08:00", u("2026-03-29T05:59"), p("2026-03-28T08:00"), p("2026-03-29T08:00")),
        ("daily 08:00", u("2026-03-29T06:00"), p("2026-03-29T08:00"), p("2026-03-30T08:00")),
        ("daily 08:00", u("2026-10-25T06:59"), p("2026-10-24T08:00"), p("2026-10-25T08:00")),
        # 02:30 does not exist on 29 March: it falls due when clocks have jumped it (03:30).
        ("daily 02:30", u("2026-03-29T01:29"), p("2026-03-28T02:30"), p("2026-03-29T03:30")),
        ("daily 02:30", u("2026-03-29T01:30"), p("2026-03-29T03:30"), p("2026-03-30T02:30")),
        # 02:30 happens twice on 25 October: once only, at the first (00:30Z).
        ("daily 02:30", u("2026-10-25T00:30"), u("2026-10-25T00:30"), p("2026-10-26T02:30")),
        ("daily 02:30", u("2026-10-25T01:45"), u("2026-10-25T00:30"), p("2026-10-26T02:30")),
        ("weekly SUN 08:00", u("2026-03-29T06:30"), p("2026-03-29T08:00"), p("2026-04-05T08:00")),
        ("weekly mon 08:00", u("2026-10-26T06:59"), p("2026-10-19T08:00"), p("2026-10-26T08:00")),
        ("30 2 * * 0", u("2026-03-29T01:30"), p("2026-03-29T03:30"), p("2026-04-05T02:30")),
        ("0 8 * * 1-5", u("2026-10-24T10:00"), p("2026-10-23T08:00"), p("2026-10-26T08:00")),
        ("hourly", u("2026-10-25T01:30"), u("2026-10-25T00:00"), u("2026-10-25T02:00")),
    ],
)  # fmt: skip
def test_schedules_across_clock_changes(
    schedule: str, now: datetime, last: datetime, next_: datetime
) -> None:
    s = parse_schedule(schedule, "Europe/Paris")
    assert s.last_due(now) == last
    assert s.next_due(now) == next_


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("weekly someday 08:00", "weekly MON HH:MM"),
        ("61 * * * *", "not a valid cron line"),
        ("0 0 30 2 *", "never falls due"),
        ("twice a day", "expected 'hourly'"),
    ],
)
def test_bad_schedules_say_what_was_expected(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_schedule(text, "Europe/Paris")


def _notifiers(mail: MailSink) -> dict[str, Notifier]:
    mailer = EmailNotifier(
        host="127.0.0.1", port=mail.port, sender="m@example.org", to=["v@example.org"], tls="none"
    )
    return {"mail": mailer}


def add(
    store: Store, n: int, when: datetime, story: int | None = None, rule: str = "watch"
) -> None:
    url = f"https://news.example.org/story-{n}"
    article = NewArticle(
        url_key=f"k{n}", url=url, canonical_url=url, source=f"outlet{n}", title=f"Story number {n}",
        body=f"Body {n}", first_seen=when, fingerprint=f"fp{n}",
    )  # fmt: skip
    payload = {
        "alert": rule, "query": "story", "matched": ["story"],
        "article": {"url": url, "title": f"Story number {n}", "source": f"outlet{n}",
                    "published": when.isoformat(), "language": "en", "snippet": f"Story {n}"},
    }  # fmt: skip
    assert store.insert_article(article, [NewAlert(rule, "mail", payload, digest=True)])


@pytest.mark.parametrize("schedule", ["weekly sun 02:30", "30 2 * * 0"])
async def test_weekly_digest_on_the_spring_change_goes_once_at_0330(
    store: Store, mail: MailSink, schedule: str
) -> None:
    schedules = {"mail": parse_schedule(schedule, "Europe/Paris")}
    add(store, 1, paris("2026-03-27T18:00"))
    clock = Clock(paris("2026-03-29T01:59"))
    notifiers = _notifiers(mail)
    assert await deliver_digests(store, notifiers, schedules, clock) == 0
    # 01:59 CET is followed by 03:00 CEST; 02:30 never shows on a clock that day.
    clock.now = paris("2026-03-29T03:29")
    assert await deliver_digests(store, notifiers, schedules, clock) == 0
    clock.now = paris("2026-03-29T03:30")
    assert await deliver_digests(store, notifiers, schedules, clock) == 1
    assert len(mail.messages) == 1
    # Nothing more until the next Sunday, however often the worker asks.
    add(store, 2, paris("2026-03-29T12:00"))
    for day in range(1, 7):
        clock.now = paris("2026-03-29T03:30") + timedelta(days=day)
        assert await deliver_digests(store, notifiers, schedules, clock) == 0
    clock.now = paris("2026-04-05T02:30")
    assert await deliver_digests(store, notifiers, schedules, clock) == 1
    assert len(mail.messages) == 2


async def test_daily_digest_on_the_autumn_change_goes_once(store: Store, mail: MailSink) -> None:
    schedules = {"mail": parse_schedule("30 2 * * *", "Europe/Paris")}
    add(store, 1, utc("2026-10-24T20:00"))
    clock = Clock(utc("2026-10-25T00:30"))  # 02:30 CEST, the first 02:30
    notifiers = _notifiers(mail)
    assert await deliver_digests(store, notifiers, schedules, clock) == 1
    add(store, 2, utc("2026-10-25T00:45"))
    clock.now = utc("2026-10-25T01:30")  # 02:30 CET, the same wall time again
    assert await deliver_digests(store, notifiers, schedules, clock) == 0
    clock.now = utc("2026-10-26T01:30")  # 02:30 CET the next day
    assert await deliver_digests(store, notifiers, schedules, clock) == 1
    assert len(mail.messages) == 2


async def test_a_digest_groups_by_alert_then_story(store: Store, mail: MailSink) -> None:
    when = utc("2026-11-02T20:00")
    add(store, 1, when, rule="watch")
    add(store, 2, when + timedelta(minutes=1), rule="other")
    add(store, 3, when + timedelta(minutes=2), rule="watch")
    schedules = {"mail": parse_schedule("daily 08:00", "UTC")}
    clock = Clock(utc("2026-11-03T08:00"))
    assert await deliver_digests(store, _notifiers(mail), schedules, clock) == 1
    (message,) = mail.messages
    assert "3 new stories" in message["Subject"]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # Under each alert, its stories in the order they came; numbered across the digest.
    watch, other = text.index("== watch =="), text.index("== other ==")
    assert watch < text.index("1. Story number 1") < text.index("2. Story number 3") < other
    assert other < text.index("3. Story number 2")


# --- the command line ---------------------------------------------------------------


def digest_config(tmp_path: Path, port: int) -> tuple[Path, str]:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    path = tmp_path / "sources.yaml"
    path.write_text(
        f"database: {db}\n"
        "sources:\n  - name: s\n    url: https://example.org/feed.xml\n"
        "alerts:\n  - name: watch\n    query: story\n    notify: [mail]\n"
        "channels:\n  mail:\n    type: email\n    to: [v@example.org]\n    from: m@example.org\n"
        f"    smtp: {{host: 127.0.0.1, port: {port}, tls: none}}\n"
        "    mode: digest\n    digest: weekly MON 08:00\n    timezone: Europe/Paris\n",
        encoding="utf-8",
    )
    return path, db


def test_cli_shows_sends_and_lists_queued_alerts(
    run_cli: Run, tmp_path: Path, mail: MailSink
) -> None:
    config, db = digest_config(tmp_path, mail.port)
    store = Store(db)
    store.migrate()
    now = datetime.now(UTC)
    add(store, 1, now - timedelta(minutes=5))
    add(store, 2, now - timedelta(minutes=4))
    store.close()

    status = run_cli("--config", str(config), "status")
    assert status.code == 0, status.err
    assert "QUEUED" in status.out and "NEXT DIGEST" in status.out
    (row,) = [line for line in status.out.splitlines() if line.startswith("mail ")]
    assert " 2 " in row and "Mon " in row  # two waiting, next digest on a Monday
    doc = json.loads(run_cli("--config", str(config), "status", "--json").out)
    (channel,) = doc["channels"]
    assert channel["counts"]["queued"] == 2
    assert datetime.fromisoformat(channel["next_digest"]).weekday() == 0

    for status_name in ("queued", "digest"):
        listed = run_cli("--config", str(config), "alerts", "--status", status_name, "--json")
        assert listed.code == 0, listed.err
        assert sorted(a["title"] for a in json.loads(listed.out)) == [
            "Story number 1",
            "Story number 2",
        ]

    sent = run_cli("--config", str(config), "digest", "send", "mail")
    assert sent.code == 0, sent.err
    assert "2 alert(s)" in sent.out
    assert len(mail.messages) == 1 and "2 new stories" in mail.messages[0]["Subject"]
    again = run_cli("--config", str(config), "digest", "send", "mail")
    assert again.code == 0 and "no alerts waiting" in again.out
    store = Store(db)
    assert {a["status"] for a in list_alerts(store)} == {"sent"}
    store.close()


def test_digest_send_to_a_dead_server_keeps_the_alerts(run_cli: Run, tmp_path: Path) -> None:
    from tests.sitekit import free_port

    config, db = digest_config(tmp_path, free_port())
    store = Store(db)
    store.migrate()
    add(store, 1, datetime.now(UTC))
    store.close()
    result = run_cli("--config", str(config), "digest", "send", "mail")
    assert result.code == 1 and "keep waiting" in result.err
    store = Store(db)
    assert {a["status"] for a in list_alerts(store)} == {"digest"}
    store.close()


async def test_metrics_show_waiting_alerts_and_the_next_digest(tmp_path: Path) -> None:
    from monitor.config import load_config
    from monitor.scheduler import Daemon
    from tests.sitekit import free_port

    path, db = digest_config(tmp_path, free_port())
    store = Store(db)
    store.migrate()
    add(store, 1, datetime.now(UTC))
    add(store, 2, datetime.now(UTC))
    daemon = Daemon(path, load_config(path))
    try:
        await daemon._delivery.gauges(store, daemon.config, list(daemon.config.channels))
    finally:
        store.close()
    page = daemon.metrics.render().decode()
    assert 'monitor_digest_waiting{channel="mail"} 2.0' in page
    (line,) = [x for x in page.splitlines() if x.startswith("monitor_next_digest_timestamp")]
    at = datetime.fromtimestamp(float(line.split()[-1]), PARIS)
    assert at > datetime.now(UTC) and (at.weekday(), at.hour, at.minute) == (0, 8, 0)


def test_a_channels_digest_template_shapes_the_digest_it_sends(
    run_cli: Run, tmp_path: Path, mail: MailSink
) -> None:
    config, db = digest_config(tmp_path, mail.port)
    template = tmp_path / "digest.j2"
    template.write_text(
        "{% block subject %}Morning brief: {{ count }} for {{ name }}{% endblock %}"
        "{% block text %}{% for g in groups %}{% for s in g.stories %}"
        "* {{ s.article.title }} <{{ s.article.url }}>\n{% endfor %}{% endfor %}{% endblock %}",
        encoding="utf-8",
    )
    with config.open("a", encoding="utf-8") as out:
        out.write(f"    digest_template: {template}\n")
    store = Store(db)
    store.migrate()
    now = datetime.now(UTC)
    add(store, 1, now - timedelta(minutes=5))
    add(store, 2, now - timedelta(minutes=4))
    store.close()

    sent = run_cli("--config", str(config), "digest", "send", "mail")
    assert sent.code == 0, sent.err
    (message,) = mail.messages
    assert message["Subject"] == "Morning brief: 2 for mail"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.replace("\r\n", "\n") == (
        "* Story number 1 <https://news.example.org/story-1>\n"
        "* Story number 2 <https://news.example.org/story-2>\n"
    )
    # The HTML part, not in the file, is the bundled digest's.
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Story number 1" in html and "<a href=" in html


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("{% block text %}{{ count }{% endblock %}", r"digest\.j2, line 1"),
        ("{% block text %}{{ article.title }}{% endblock %}", "fails on a sample digest"),
    ],
    ids=["syntax", "an-alert-field"],
)
def test_a_broken_digest_template_fails_the_check_naming_it(
    run_cli: Run, tmp_path: Path, source: str, problem: str
) -> None:
    from tests.sitekit import free_port

    config, _ = digest_config(tmp_path, free_port())
    (tmp_path / "digest.j2").write_text(source, encoding="utf-8")
    with config.open("a", encoding="utf-8") as out:
        out.write(f"    digest_template: {tmp_path / 'digest.j2'}\n")
    checked = run_cli("--config", str(config), "check")
    assert checked.code == 2
    assert re.search(problem, checked.err), checked.err
    assert "mail" in checked.err  # the channel it belongs to
