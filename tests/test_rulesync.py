"""Rules in the database: a config sync writes only what changed, every worker's
RuleSync ends with the rules Rules.from_config would build, and a change reaches all
workers quickly without holding their event loops."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench.rules_sync import config_text, rule_update
from monitor.config import parse_config
from monitor.pipeline import Rules, RuleSync, alert_of, rule_specs, sync_rules
from monitor.rules import Document
from monitor.store import RuleSpec, Store

BASE = """
channels:
  console: {type: log}
  hook: {type: webhook, url: "https://hooks.example/x"}
synonyms: [[IA, AI]]
sources:
  - {name: lemonde, url: "https://lemonde.example/rss", tags: [fr]}
alerts:
  - {name: amazon, query: "Amazon IA licenciements", notify: [console]}
  - {name: strike, query: "grève OR strike", notify: [console, hook], max_age: 2h}
  - {name: climate, query: "climat -sport", notify: [hook], languages: [fr], mode: digest}
  - {name: fr-only, query: "budget", notify: [console], tags: [fr], max_age: none}
"""
EDITED = """
channels:
  console: {type: log}
  hook: {type: webhook, url: "https://hooks.example/x"}
synonyms: [[IA, AI, "intelligence artificielle"]]
sources:
  - {name: lemonde, url: "https://lemonde.example/rss", tags: [fr]}
alerts:
  - {name: amazon, query: "Amazon IA licenciements", notify: [console]}
  - {name: strike, query: "grève OR strike OR walkout", notify: [console, hook], max_age: 2h}
  - {name: fr-only, query: "budget", notify: [console, hook], tags: [fr], max_age: none}
  - {name: nuclear, query: "nucléaire EDF", notify: [hook], sources: [lemonde]}
"""
DOCS = [
    Document(title="Amazon", text="Amazon AI licenciements massifs", language="fr"),
    Document(title="Amazon", text="Amazon intelligence artificielle licenciements", language="fr"),
    Document(title="Grève", text="la grève continue, walkout", language="fr"),
    Document(title="Climat", text="le climat change", language="fr"),
    Document(title="EDF", text="EDF et le nucléaire", language="fr", source="lemonde"),
    Document(title="Budget", text="le budget 2027", language="fr", tags=("fr",)),
]


def _same_as_from_config(rules: Rules, config_text_: str) -> None:
    expected = Rules.from_config(parse_config(config_text_))
    assert rules.alerts == expected.alerts  # every alert's config, whole
    assert set(rules.queries) == set(expected.queries)
    for doc in DOCS:
        assert set(rules.index.match(doc)) == set(expected.index.match(doc)), doc.text


def test_sync_writes_only_what_changed(db_url: str) -> None:
    store = Store(db_url)
    store.migrate()
    first = sync_rules(store, parse_config(BASE))
    assert first == 1
    assert sync_rules(store, parse_config(BASE)) == 1  # nothing changed: no new version
    second = sync_rules(store, parse_config(EDITED))
    changes = store.rule_changes(first)
    assert changes.version == second == 2
    # strike edited, nuclear added, fr-only re-notified, amazon changed by the synonyms;
    # climate removed.
    assert {s.name for s in changes.changed} == {"amazon", "strike", "fr-only", "nuclear"}
    assert changes.removed == ("climate",)
    everything = store.rule_changes(0)
    assert {s.name for s in everything.changed} == {"amazon", "strike", "fr-only", "nuclear"}
    assert everything.removed == ()
    assert store.rule_changes(second).changed == ()
    store.close()


def test_a_row_gives_back_the_alert_it_was_made_from() -> None:
    config = parse_config(BASE)
    for alert, spec in zip(config.alerts, rule_specs(config), strict=True):
        assert alert_of(spec) == alert


def test_rulesync_ends_with_what_from_config_builds(db_url: str) -> None:
    store = Store(db_url)
    store.migrate()
    sync = RuleSync(store)

    async def follow(text: str) -> int:
        sync_rules(store, parse_config(text))
        return await sync.catch_up()

    assert asyncio.run(follow(BASE)) == 4
    _same_as_from_config(sync.rules, BASE)
    assert asyncio.run(follow(EDITED)) == 5  # 4 changed, 1 removed
    _same_as_from_config(sync.rules, EDITED)
    assert asyncio.run(follow(EDITED)) == 0
    store.close()


def test_a_bad_row_costs_only_its_own_rule(db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    store = Store(db_url)
    store.migrate()
    good = rule_specs(parse_config(BASE))
    store.sync_rules([*good, RuleSpec("broken", "(unclosed", good[0].spec)], "[]")
    sync = RuleSync(store)
    with caplog.at_level(logging.ERROR, logger="monitor.pipeline.rulesync"):
        asyncio.run(sync.catch_up())
    assert set(sync.rules.alerts) == {s.name for s in good}
    assert "broken" not in sync.rules.index
    assert any("broken" in r.getMessage() or "broken" in str(r.__dict__) for r in caplog.records)
    store.close()


def test_a_notice_wakes_a_worker_at_once(postgres_url: str) -> None:
    store = Store(postgres_url)
    store.migrate()
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM rules"))
        conn.execute(sa.text("DELETE FROM rule_state"))
    # A periodic check far away: only the NOTIFY can bring the change in time.
    sync = RuleSync(store, every=timedelta(minutes=10))

    async def scenario() -> float:
        runner = asyncio.create_task(sync.run())
        while sync.version == 0 and not runner.done():
            await asyncio.sleep(0.01)
            if sync.version == 0:
                await asyncio.to_thread(sync_rules, store, parse_config(BASE))
                await asyncio.sleep(0.3)
        await asyncio.sleep(0.5)  # the listener is connected by now
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.to_thread(sync_rules, store, parse_config(EDITED))
        while "nuclear" not in sync.rules.alerts:
            assert loop.time() - started < 5, "the change never arrived"
            await asyncio.sleep(0.01)
        elapsed = loop.time() - started
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        return elapsed

    assert asyncio.run(scenario()) < 2
    _same_as_from_config(sync.rules, EDITED)
    store.close()


def test_changed_rules_are_live_on_every_worker_quickly(postgres_url: str) -> None:
    # Small scale here (the bench runs 1,000 of 100k): two worker processes.
    result = rule_update(postgres_url, rules=4000, changed=400, workers=2)
    assert result["rule_update_s"] < 5, result
    assert result["max_step_ms"] < 100, result


def test_a_big_config_loads_and_reuses_its_parsed_queries(tmp_path: Path) -> None:
    text = config_text(2000, 2000)
    config = parse_config(text)
    assert len(config.sources) == len(config.alerts) == 2000
    # The checks parsed every query once; the rule index takes those, not new parses.
    assert all(config.parsed_query(a.query) is not None for a in config.alerts)
    rules = Rules.from_config(config)
    assert all(rules.queries[a.name] is config.parsed_query(a.query) for a in config.alerts)
    assert json.loads(rule_specs(config)[0].spec)["notify"] == ["console"]


def test_sources_sync_in_bulk_writes_new_moved_edited_and_gone(db_url: str) -> None:
    from datetime import UTC, datetime

    from monitor.store import SourceSpec

    store = Store(db_url)
    store.migrate()
    now = datetime(2026, 12, 1, tzinfo=UTC)
    specs = [SourceSpec(f"s{i}", f"https://h{i}.example/f", "feed", 600) for i in range(3000)]
    store.sync_sources(specs, now)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE sources SET etag = 'e', error_count = 3"))
    edited = list(specs[1:])  # s0 gone
    edited[0] = SourceSpec("s1", "https://moved.example/f", "feed", 600)  # a new URL
    edited[1] = SourceSpec("s2", "https://h2.example/f", "feed", 1200)  # a new interval
    later = datetime(2026, 12, 2, tzinfo=UTC)
    store.sync_sources(edited, later)
    with store.engine.connect() as conn:
        rows = {
            r.name: r
            for r in conn.execute(
                sa.text(
                    "SELECT name, url, interval_seconds, enabled, etag, error_count FROM sources"
                )
            )
        }
    store.close()
    assert len(rows) == 3000 and not rows["s0"].enabled
    assert (rows["s1"].url, rows["s1"].etag, rows["s1"].error_count) == (
        "https://moved.example/f", None, 0,
    )  # fmt: skip
    assert (rows["s2"].interval_seconds, rows["s2"].etag) == (1200, "e")
    assert rows["s2999"].enabled and rows["s2999"].error_count == 3
