"""End to end: sources.yaml → local feeds and pages → database → one email, one webhook."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.store import Store, list_alerts
from tests.clikit import Result
from tests.faultserver import Endless, FaultServer, Hang, Reply
from tests.sitekit import (
    HOOK_SECRET,
    MailSink,
    mail_sink,
    render,
    serve_site,
    verify_signature,
)

Monitor = Callable[..., Result]


@pytest.fixture
def monitor(run_cli: Callable[..., Result]) -> Monitor:
    """``monitor(config, db_url, *args)``: one command on that config and database, run
    from the config's folder, in process (nothing here needs a process of its own)."""

    def run(config: Path, db_url: str, *args: str) -> Result:
        env = {"MONITOR_DATABASE_URL": db_url}
        return run_cli("--config", str(config), *args, env=env, cwd=config.parent)

    return run


@pytest.fixture
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        serve_site(server)
        server.route("/hook", Reply(b"", status=204))
        yield server


@pytest.fixture
def mail() -> Iterator[MailSink]:
    with mail_sink() as sink:  # quiet: its log lines never mix into the command's
        yield sink


def write_config(
    tmp_path: Path,
    site: FaultServer,
    mail: MailSink,
    extra_sources: Sequence[tuple[str, str]] = (),
    fetch: str = "{min_delay: 0s, timeout: 3s}",
) -> Path:
    # Indented like the template below, which is dedented as a whole.
    pad = " " * 8
    extra = "".join(f"\n{pad}  - name: {n}\n{pad}    url: {site.url(p)}" for n, p in extra_sources)
    config = tmp_path / "sources.yaml"
    config.write_text(
        textwrap.dedent(f"""\
        allow_private_networks: true    # the test site lives on 127.0.0.1
        fetch: {fetch}
        sources:
          - name: qdn-tech
            url: {site.url("/fr/rss.xml")}
            language: fr
          - name: ledger-business
            url: {site.url("/en/atom.xml")}
            language: en{extra}
        alerts:
          - name: amazon-ia-licenciements
            query: Amazon IA licenciements
            notify: [team-mail, ops-hook]
        channels:
          team-mail:
            type: email
            to: [veille@example.org]
            from: monitor@example.org
            smtp: {{host: 127.0.0.1, port: {mail.port}, tls: none}}
          ops-hook:
            type: webhook
            url: {site.url("/hook")}
            secret: {HOOK_SECRET}
        """)
    )
    return config


def test_once_delivers_one_email_and_one_signed_webhook(
    tmp_path: Path, db_url: str, site: FaultServer, mail: MailSink, monitor: Monitor
) -> None:
    config = write_config(tmp_path, site, mail)
    res = monitor(config, db_url, "run", "--once")
    assert res.code == 0, res.err
    assert HOOK_SECRET not in res.err  # structured logs never carry a secret

    # Exactly one alert on each channel, for the open letter alone: the warehouse page
    # carries all three words in its related links and newsletter box only.
    assert len(mail.messages) == 1, [m["Subject"] for m in mail.messages]
    msg = mail.messages[0]
    assert "amazon-ia-licenciements" in msg["Subject"]
    assert "Des salariés d'Amazon dénoncent les licenciements liés à l'IA" in msg["Subject"]
    text = "\n".join(
        part.get_content()
        for part in msg.walk()
        if part.get_content_type() == "text/plain"  # type: ignore[attr-defined]
    )
    assert site.url("/articles/lettre-ouverte-amazon") in text

    hooks = site.requests_to("/hook")
    assert len(hooks) == 1
    hook = hooks[0]
    assert verify_signature(hook.headers, hook.body)
    payload = json.loads(hook.body)
    assert payload["id"] == hook.headers["webhook-id"]
    assert payload["alert"] == "amazon-ia-licenciements"
    assert payload["article"]["url"] == site.url("/articles/lettre-ouverte-amazon")
    assert payload["article"]["source"] == "qdn-tech" and payload["article"]["language"] == "fr"
    assert {t.lower() for t in payload["matched"]} >= {"amazon", "ia", "licenciements"}
    # The article's own words, per term, reach the receiver (and the email's text).
    assert set(payload["matched_terms"]) == set(payload["matched"])
    assert "Amazon" in payload["matched_terms"][payload["matched"][0]]
    assert "Alerte « amazon-ia-licenciements »" in text
    # Each delivery carries its alert's stable id, as recorded in the outbox.
    store = Store(db_url)
    try:
        ids = {a["channel"]: a["alert_id"] for a in list_alerts(store)}
    finally:
        store.close()
    assert payload["id"] == ids["ops-hook"]
    assert msg["Message-ID"] == f"<{ids['team-mail']}@news-monitor>"

    # A second pass finds nothing new and sends nothing.
    res = monitor(config, db_url, "run", "--once")
    assert res.code == 0, res.err
    assert len(mail.messages) == 1 and len(site.requests_to("/hook")) == 1
    store = Store(db_url)
    try:
        assert store.count_articles() == 3
        titles = sorted(a.title for a in store.iter_articles())
        assert len(set(titles)) == 3
    finally:
        store.close()
    # Each article page was fetched once: known articles are not fetched again.
    assert site.hits("/articles/lettre-ouverte-amazon") == 1


def test_bad_sources_are_recorded_and_do_not_stop_the_others(
    tmp_path: Path, db_url: str, site: FaultServer, mail: MailSink, monitor: Monitor
) -> None:
    site.route(
        "/broken.xml",
        Reply(
            b"<html><body><h1>Maintenance</h1><p>Back soon.</p></body></html>",
            headers={"Content-Type": "text/html"},
        ),
    )
    site.route("/error.xml", Reply(b"internal error", status=500))
    site.route("/slow.xml", Hang())
    site.route("/huge.xml", Endless(headers={"Content-Type": "application/rss+xml"}))
    extra = [
        ("broken", "/broken.xml"),
        ("error500", "/error.xml"),
        ("slow", "/slow.xml"),
        ("huge", "/huge.xml"),
    ]
    config = write_config(
        tmp_path, site, mail, extra, fetch="{min_delay: 0s, timeout: 2s, max_size: 1MiB}"
    )
    res = monitor(config, db_url, "run", "--once")
    assert res.code == 0, res.err
    # The good sources went through despite their neighbours.
    assert len(mail.messages) == 1 and len(site.requests_to("/hook")) == 1

    status = monitor(config, db_url, "status")
    assert status.code == 0, status.err
    rows = {line.split()[0]: line for line in status.out.splitlines() if line.strip()}
    assert " ok " in rows["qdn-tech"] + " " and " ok " in rows["ledger-business"] + " "
    expectations = {
        "broken": "feed",
        "error500": "http_status",
        "slow": "timeout",
        "huge": "too_large",
    }
    for name, kind in expectations.items():
        assert "failing" in rows[name], rows[name]
        assert f"{kind}:" in rows[name], rows[name]


def test_fetch_dry_run_shows_alerts_and_writes_nothing(
    tmp_path: Path, site: FaultServer, mail: MailSink, monitor: Monitor
) -> None:
    config = write_config(tmp_path, site, mail)
    db = tmp_path / "dry.db"
    res = monitor(config, f"sqlite:///{db}", "fetch", "qdn-tech")
    assert res.code == 0, res.err
    assert "qdn-tech: 2 article link(s)" in res.out
    assert "would alert amazon-ia-licenciements -> team-mail, ops-hook" in res.out
    assert res.out.count("would alert") == 1 and "no alert would fire" in res.out
    assert not db.exists() and not mail.messages and not site.requests_to("/hook")
    missing = monitor(config, f"sqlite:///{db}", "fetch", "nope")
    assert missing.code == 1 and "no source named 'nope'" in missing.err


def test_failing_source_notice_then_recovery_notice(
    tmp_path: Path, db_url: str, site: FaultServer, mail: MailSink, monitor: Monitor
) -> None:
    site.route("/flaky.xml", Reply(b"down", status=503))
    config = write_config(tmp_path, site, mail, [("flaky", "/flaky.xml")])
    text = config.read_text() + "health: {notify: [ops-hook], after: 0s}\n"
    config.write_text(text)
    assert monitor(config, db_url, "run", "--once").code == 0
    notices = [json.loads(r.body) for r in site.requests_to("/hook")]
    failing = [n for n in notices if n["alert"] == "source-health"]
    assert len(failing) == 1 and failing[0]["matched"] == ["failing"]
    assert "flaky has been failing" in failing[0]["article"]["title"]
    assert "503" in failing[0]["article"]["title"]
    # Still failing on the next pass: no second notice for the same streak.
    assert monitor(config, db_url, "run", "--once").code == 0
    assert (
        sum(json.loads(r.body)["alert"] == "source-health" for r in site.requests_to("/hook")) == 1
    )
    # The feed comes back: one recovery notice.
    site.route("/flaky.xml", Reply(b"<rss version='2.0'><channel><title>x</title></channel></rss>"))
    assert monitor(config, db_url, "run", "--once").code == 0
    health = [
        json.loads(r.body) for r in site.requests_to("/hook")
        if json.loads(r.body)["alert"] == "source-health"
    ]  # fmt: skip
    assert [n["matched"] for n in health] == [["failing"], ["recovered"]]
    assert "flaky is back" in health[1]["article"]["title"]


def _atom(site: FaultServer, updated: datetime) -> bytes:
    stamp = updated.isoformat()
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Edits</title><id>urn:edits</id>
<updated>{stamp}</updated>
<entry><title>Amazon et l'IA</title><id>urn:edits:1</id>
<link href="{site.url("/edits/amazon")}"/><published>{stamp}</published><updated>{stamp}</updated>
</entry></feed>""".encode()


def _page(extra: str) -> bytes:
    body = (
        "<p>Amazon déploie l'IA générative dans ses entrepôts européens, selon un document "
        "interne consulté par notre rédaction, qui détaille le calendrier des déploiements.</p>"
        "<p>La direction promet que les outils assisteront les équipes de préparation.</p>"
    )
    article = f"<article><h1>Amazon et l'IA</h1>{body}{extra}</article>"
    return f"<html lang='fr'><body>{article}</body></html>".encode()


def test_edited_article_alerts_only_for_a_rule_it_newly_matches(
    tmp_path: Path, db_url: str, site: FaultServer, mail: MailSink, monitor: Monitor
) -> None:
    first = datetime.now(UTC) - timedelta(hours=2)
    site.route(
        "/edits.xml", Reply(_atom(site, first), headers={"Content-Type": "application/atom+xml"})
    )
    site.route("/edits/amazon", Reply(_page(""), headers={"Content-Type": "text/html"}))
    config = write_config(tmp_path, site, mail, [("edits", "/edits.xml")])
    assert monitor(config, db_url, "run", "--once").code == 0
    assert len(mail.messages) == 1  # the open letter; the edits page does not match yet
    # The page is edited to mention layoffs; its feed entry says so.
    layoffs = "<p>Un plan de licenciements touchant 300 salariés accompagne ce déploiement.</p>"
    site.route("/edits/amazon", Reply(_page(layoffs), headers={"Content-Type": "text/html"}))
    later = first + timedelta(hours=1)
    site.route(
        "/edits.xml", Reply(_atom(site, later), headers={"Content-Type": "application/atom+xml"})
    )
    assert monitor(config, db_url, "run", "--once").code == 0
    assert len(mail.messages) == 2 and "Amazon et l'IA" in mail.messages[1]["Subject"]
    # Polled again with no new edit: fetched no more, alerted no more.
    hits = site.hits("/edits/amazon")
    assert monitor(config, db_url, "run", "--once").code == 0
    assert len(mail.messages) == 2 and site.hits("/edits/amazon") == hits
    store = Store(db_url)
    try:
        bodies = [a.body for a in store.iter_articles() if a.title == "Amazon et l'IA"]
    finally:
        store.close()
    assert len(bodies) == 1 and "licenciements" in bodies[0]


def test_rules_test_and_search_replay_stored_articles_with_outlets(
    tmp_path: Path, db_url: str, site: FaultServer, mail: MailSink, monitor: Monitor
) -> None:
    # Another outlet reprints the open letter word for word under its own URL.
    copy = render("fr-lettre-amazon.html", site.origin, datetime.now(UTC) - timedelta(hours=1))
    # ... naming its own URL as canonical: a page naming the letter's would be the letter
    # itself, one row with an alias (test_aliases).
    own = f"{site.origin}/copies/lettre".encode()
    copy = copy.replace(f"{site.origin}/articles/lettre-ouverte-amazon".encode(), own)
    site.route("/copies/lettre", Reply(copy, headers={"Content-Type": "text/html"}))
    feed = (
        f"<rss version='2.0'><channel><title>Copies</title><item><title>Lettre</title>"
        f"<link>{site.url('/copies/lettre')}</link></item></channel></rss>"
    )
    site.route("/copies.xml", Reply(feed, headers={"Content-Type": "application/rss+xml"}))
    config = write_config(tmp_path, site, mail, [("copycat", "/copies.xml")])
    assert monitor(config, db_url, "run", "--once").code == 0
    assert len(mail.messages) == 1 and len(site.requests_to("/hook")) == 1  # one story, one alert

    res = monitor(config, db_url, "rules", "test", "Amazon IA licenciements", "--since", "7d")
    assert res.code == 0, res.err
    assert "2 of 4 article(s) match" in res.err  # the letter and its copy
    assert "«Amazon»" in res.out  # matches highlighted in the snippet
    assert "carried by: " in res.out and "copycat" in res.out and "qdn-tech" in res.out

    res = monitor(config, db_url, "search", "Northbridge branches")
    assert res.code == 0, res.err
    assert "Northbridge Bank to cut 2,000 jobs" in res.out and "1 of 4" in res.err
    bad = monitor(config, db_url, "search", 'Amazon "IA')
    assert bad.code == 1 and "error:" in bad.err


def test_alerts_command_lists_and_retries_dead_alerts(
    tmp_path: Path, db_url: str, site: FaultServer, mail: MailSink, monitor: Monitor
) -> None:
    site.route("/hook", Reply(b"receiver broken", status=500))
    config = write_config(tmp_path, site, mail)
    # An alert left undelivered: exit 1, the summary names the channel and its error.
    ran = monitor(config, db_url, "run", "--once")
    assert ran.code == 1 and "1 alert not sent (channel ops-hook: " in ran.err
    store = Store(db_url)
    try:
        hook = next(a for a in list_alerts(store) if a["channel"] == "ops-hook")
        # --once retried it while the next try was under a minute away, then left it.
        assert hook["status"] == "failed" and hook["attempts"] >= 1
        # Three days of failures later it is dead (shortened here: the store is told so).
        with store.engine.connect() as conn:
            query = sa.text("select id from outbox where alert_id = :a")
            (item_id,) = conn.execute(query, {"a": hook["alert_id"]}).one()
        store.mark_failed(item_id, datetime.now(UTC), "receiver broken", None)
    finally:
        store.close()
    listed = monitor(config, db_url, "alerts", "--status", "dead")
    assert listed.code == 0 and hook["alert_id"] in listed.out
    assert "team-mail" not in listed.out  # the email went out; only the dead one is listed
    site.route("/hook", Reply(b"", status=204))
    retried = monitor(config, db_url, "alerts", "retry")
    assert retried.code == 0 and "1 alert(s) queued" in retried.out
    assert monitor(config, db_url, "run", "--once").code == 0
    delivered = site.requests_to("/hook")[-1]
    assert delivered.headers["webhook-id"] == hook["alert_id"]  # the same alert, the same id
    assert monitor(config, db_url, "alerts", "retry", "msg_nosuchalert").code == 1
