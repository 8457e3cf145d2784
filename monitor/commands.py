"""What each command does, kept apart from argument parsing in cli.py."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from tqdm import tqdm

from monitor.config import Config
from monitor.errors import MonitorError
from monitor.ingest import Prepared
from monitor.runtime import utcnow
from monitor.store import Store, channel_statuses, list_alerts, retry_alerts, source_statuses


def open_db(config: Config) -> Store:
    from monitor.scheduler import open_store

    return open_store(config)


def run(path: Path, config: Config, *, once: bool, http: str | None = None) -> int:
    from monitor.http import parse_listen
    from monitor.scheduler import Daemon

    daemon = Daemon(path, config, http=parse_listen(http) if http else None)
    if once:
        results = asyncio.run(daemon.run_once())
        failed = [r for r in results if not r.ok]
        new = sum(r.new_articles for r in results)
        print(
            f"polled {len(results)} source(s): {new} new article(s), {len(failed)} failed",
            file=sys.stderr,
        )
        return 0
    asyncio.run(daemon.run())
    return 0


def dry_run(config: Config, name: str, limit: int) -> int:
    """`monitor fetch SOURCE`: what one poll would find and fire, writing and sending nothing."""
    from monitor.fetch import Fetcher
    from monitor.ingest import fetch_candidates, prepare
    from monitor.runtime import Rules, Runtime
    from monitor.scheduler import fetch_settings

    source = next((s for s in config.sources if s.name == name), None)
    if source is None:
        known = ", ".join(s.name for s in config.sources) or "none"
        raise MonitorError(f"no source named {name!r} in the config (sources: {known})")

    async def go() -> None:
        async with Fetcher(fetch_settings(config)) as fetcher:
            rt = Runtime(config, None, fetcher, Rules.from_config(config))
            listing = await fetch_candidates(rt, source)
            candidates = listing.candidates
            where = listing.result.final_url
            print(f"{source.name}: {len(candidates)} article link(s) in {where}")
            for candidate in tqdm(candidates[:limit], file=sys.stderr, disable=None, leave=False):
                prepared = await prepare(rt, source, candidate)
                if prepared is None:
                    tqdm.write(f"\n- {candidate.url}\n  (could not be fetched; nothing to read)")
                    continue
                _show_prepared(prepared)

    asyncio.run(go())
    print("\n(dry run: nothing was stored or sent)", file=sys.stderr)
    return 0


def _show_prepared(prepared: Prepared) -> None:
    r = prepared.record
    when = r.published.isoformat() if r.published else "no date"
    preview = " ".join(r.body.split())[:200]
    tqdm.write(f"\n- {r.title}\n  {r.canonical_url}\n  {r.language or '?'} · {when}")
    tqdm.write(f"  {len(r.body)} characters ({r.quality}): {preview}")
    if not prepared.matches:
        tqdm.write("  no alert would fire")
    for name, match in prepared.matches.items():
        channels = ", ".join(a.channel for a in prepared.alerts if a.rule == name)
        tqdm.write(f"  would alert {name} -> {channels}: {match.snippet_marked('«', '»')}")


def extract(target: str, *, as_json: bool, selector: str | None) -> int:
    from monitor.extract import article_to_dict, extract_article

    url: str | None
    if target.startswith(("http://", "https://")):
        from monitor.fetch import Fetcher

        async def get() -> tuple[bytes, str, str | None]:
            async with Fetcher() as fetcher:
                r = await fetcher.get(target, obey_robots=True)
                return r.content, r.final_url, r.charset

        content, url, charset = asyncio.run(get())
    else:
        try:
            content = Path(target).read_bytes()
        except OSError as exc:
            raise MonitorError(f"{target}: cannot read: {exc.strerror}") from None
        url, charset = None, None
    article = extract_article(content, url, body_selector=selector, charset=charset)
    data = article_to_dict(article)
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return 0
    for key, value in data.items():
        if key != "text" and value not in (None, "", [], ()):
            print(f"{key}: {value}")
    print()
    print(article.text)
    return 0


def _matching(config: Config, query: str, since: timedelta | None, limit: int) -> int:
    from monitor.rules import Document, parse_query

    q = parse_query(query, config.synonyms)
    store = open_db(config)
    try:
        start = utcnow() - since if since else None
        total = store.count_articles(start)
        shown = 0
        bar = tqdm(total=total, unit="article", file=sys.stderr, disable=None, leave=False)
        for art in store.iter_articles(start):
            bar.update()
            doc = Document(
                title=art.title, text=art.body, language=art.language, url=art.url,
                source=art.source, tags=_tags(config, art.source),
            )  # fmt: skip
            match = q.match_document(doc)
            if match is None:
                continue
            shown += 1
            if shown <= limit:
                when = (art.published or art.first_seen).strftime("%Y-%m-%d %H:%M")
                tqdm.write(f"{when}  [{art.source}]  {art.title}\n    {art.url}")
                tqdm.write(f"    {match.snippet_marked('«', '»')}")
                if art.story_id is not None:
                    outlets = store.story_outlets({art.story_id}).get(art.story_id, ())
                    if len(outlets) > 1:
                        tqdm.write(f"    story #{art.story_id}, carried by: {', '.join(outlets)}")
                tqdm.write("")
        bar.close()
    finally:
        store.close()
    print(f"{shown} of {total} article(s) match", file=sys.stderr)
    return 0


def _tags(config: Config, source: str) -> tuple[str, ...]:
    return next((s.tags for s in config.sources if s.name == source), ())


def replay(config: Config, query: str, since: timedelta, limit: int) -> int:
    """`rules test`: what a query would have fired on over the stored history."""
    return _matching(config, query, since, limit)


def search(config: Config, query: str, since: timedelta | None, limit: int) -> int:
    return _matching(config, query, since, limit)


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "-"
    seconds = int((now - when).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            text = f"{seconds // size}{unit}"
            break
    else:
        text = f"{seconds}s"
    return f"in {text}" if future else f"{text} ago"


def status(config: Config) -> int:
    store = open_db(config)
    now = utcnow()
    try:
        sources = source_statuses(store, now)
        channels = channel_statuses(store, list(config.channels))
    finally:
        store.close()
    configured = {s.name for s in config.sources}
    rows = [("SOURCE", "STATE", "LAST POLL", "LAST OK", "ART/DAY", "NEXT", "LAST ERROR")]
    for s in sources:
        if s.name not in configured:
            continue
        state = "disabled" if not s.enabled else "ok" if s.ok else f"failing x{s.error_count}"
        error = f"{s.last_error_kind}: {s.last_error}" if s.last_error and not s.ok else ""
        rows.append(
            (s.name, state, _ago(s.last_poll, now), _ago(s.last_success, now),
             str(s.articles_last_day), _ago(s.next_check, now), error[:80])
        )  # fmt: skip
    _table(rows)
    print()
    crows = [("CHANNEL", "STATE", "PENDING", "SENT", "FAILED", "DEAD", "LAST ERROR")]
    for c in channels:
        state = "disabled" if c.disabled else "ok"
        n = c.counts
        crows.append(
            (c.name, state, str(n.get("pending", 0)), str(n.get("sent", 0)),
             str(n.get("failed", 0)), str(n.get("dead", 0)),
             (c.disabled_reason or c.last_error or "")[:80])
        )  # fmt: skip
    _table(crows)
    return 0


def _table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


def alerts(
    config: Config, action: str, alert_id: str | None, status_filter: str | None, limit: int
) -> int:
    store = open_db(config)
    try:
        if action == "retry":
            n = retry_alerts(store, utcnow(), alert_id)
            print(f"{n} alert(s) queued for delivery")
            return 0 if n or not alert_id else 1
        rows = list_alerts(store, status_filter, limit)
    finally:
        store.close()
    table = [("ALERT ID", "RULE", "CHANNEL", "STATUS", "TRIES", "CREATED", "TITLE")]
    for r in rows:
        created = r["created"]
        when = created.strftime("%Y-%m-%d %H:%M") if isinstance(created, datetime) else ""
        table.append(
            (str(r["alert_id"]), str(r["rule"]), str(r["channel"]), str(r["status"]),
             str(r["attempts"]), when, str(r["title"])[:60])
        )  # fmt: skip
    _table(table)
    return 0
