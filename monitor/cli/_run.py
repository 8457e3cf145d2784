"""`monitor run [--once]`, `monitor worker`, `monitor web`, `monitor fetch SOURCE` (dry run)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tqdm import tqdm

from monitor.cli._codes import EXIT_DATABASE
from monitor.config import Config
from monitor.errors import ConfigError, MonitorError
from monitor.observe import parse_listen
from monitor.pipeline import Verdict, preview_source
from monitor.scheduler import Daemon
from monitor.text import redact_url
from monitor.web import check_bind, serve_web
from monitor.worker import run_worker

DEFAULT_LISTEN = "127.0.0.1:9100"


def run(path: Path, config: Config, *, once: bool, http: str | None = None) -> int:
    listen = http or config.http.listen
    where = parse_listen(listen) if listen and not once else None
    if where is not None:
        check_bind(where[0], config.http.token)  # before anything is polled or sent
    daemon = Daemon(path, config, http=where)
    if once:
        # Exit 1 (with one line saying why) when every source failed or an alert could
        # not be sent: cron notices; one failed source among others is not fatal.
        report = asyncio.run(daemon.run_once_report())
        print(report.summary(), file=sys.stderr)
        if report.storage_error:
            return EXIT_DATABASE
        return 1 if report.failed else 0
    asyncio.run(daemon.run())
    return 0


def worker(config: Config, queues: str, concurrency: int, partitions: int) -> int:
    """`monitor worker`: Procrastinate jobs on the config's PostgreSQL until SIGTERM."""
    if concurrency < 1 or partitions < 1:
        raise ConfigError("--concurrency and --partitions must be at least 1")
    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    asyncio.run(run_worker(config, queues=wanted, concurrency=concurrency, partitions=partitions))
    return 0


def web(config: Config, http: str | None) -> int:
    """`monitor web`: the web view alone, over the database; it polls and sends nothing."""
    host, port = parse_listen(http or config.http.listen or DEFAULT_LISTEN)
    check_bind(host, config.http.token)
    asyncio.run(serve_web(config, host, port))
    return 0


def dry_run(config: Config, name: str, limit: int) -> int:
    """`monitor fetch SOURCE`: what one poll would find and fire, writing and sending nothing."""
    source = next((s for s in config.sources if s.name == name), None)
    if source is None:
        known = ", ".join(s.name for s in config.sources) or "none"
        raise MonitorError(f"no source named {name!r} in the config (sources: {known})")

    async def go() -> None:
        async with preview_source(config, source) as dry:
            candidates, where = dry.listing.candidates, dry.listing.result.final_url
            print(f"{source.name}: {len(candidates)} article link(s) in {redact_url(where)}")
            if dry.database is None:
                print("(no database yet: cannot tell which articles are already stored)")
            else:
                print(f"(checked against {dry.database}: nothing is written to it)")
            for candidate in tqdm(candidates[:limit], file=sys.stderr, disable=None, leave=False):
                verdict = await dry.judge(candidate)
                if verdict is None:
                    url = redact_url(candidate.url)
                    tqdm.write(f"\n- {url}\n  (could not be fetched; nothing to read)")
                    continue
                _show(verdict)

    asyncio.run(go())
    print("\n(dry run: nothing was stored or sent)", file=sys.stderr)
    return 0


def _show(verdict: Verdict) -> None:
    prepared = verdict.prepared
    r = prepared.record
    when = r.published.isoformat() if r.published else "no date"
    preview = " ".join(r.body.split())[:200]
    tqdm.write(f"\n- {r.title}\n  {redact_url(r.canonical_url)}\n  {r.language or '?'} · {when}")
    tqdm.write(f"  {len(r.body)} characters ({r.quality}): {preview}")
    story = f" (story #{verdict.story_id})" if verdict.story_id is not None else ""
    if verdict.skipped:
        tqdm.write(f"  already stored{story}: a poll skips it")
    elif verdict.edited:
        tqdm.write(f"  already stored{story}, edited since: a poll reads it again")
    elif verdict.stored is False:
        joins = f", a copy of story #{verdict.story_id}" if verdict.story_id is not None else ""
        tqdm.write(f"  not stored yet{joins}")
    for name, match in prepared.matches.items():
        fire = ", ".join(a.channel for a in verdict.fire if a.rule == name)
        again = ", ".join(a.channel for a in verdict.repeat if a.rule == name)
        if fire:
            tqdm.write(f"  would alert {name} -> {fire}: {match.snippet_marked('«', '»')}")
        if again:
            tqdm.write(f"  would not alert {name} again -> {again}: its story already alerted")
        if not fire and not again:
            tqdm.write(f"  matches {name}, but a poll skips stored articles")
    if not prepared.matches:
        tqdm.write("  no alert would fire")
