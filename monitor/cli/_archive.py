"""``monitor rules test`` and ``monitor search``: the query language over stored articles."""

from __future__ import annotations

import sys
from datetime import timedelta

from tqdm import tqdm

from monitor.cli._admin import open_db
from monitor.config import AlertConfig, Config
from monitor.pipeline import (
    AlertReplay,
    Replayed,
    count_candidates,
    find_alert,
    match_stored,
    replay_alert,
    utcnow,
)
from monitor.text import redact_url


def _matching(config: Config, query: str, since: timedelta | None, limit: int) -> int:
    store = open_db(config)
    try:
        start = utcnow() - since if since else None
        total = store.count_articles(start)
        shown = 0
        # Only the articles the search index could not rule out are read.
        candidates = count_candidates(config, store, query, start)
        bar = tqdm(total=candidates, unit="article", file=sys.stderr, disable=None, leave=False)
        for art, match in match_stored(config, store, query, start):
            bar.update()
            if match is None:
                continue
            shown += 1
            if shown <= limit:
                when = (art.published or art.first_seen).strftime("%Y-%m-%d %H:%M")
                tqdm.write(f"{when}  [{art.source}]  {art.title}\n    {redact_url(art.url)}")
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


def replay(config: Config, text: str, since: timedelta, limit: int) -> int:
    """`rules test`: an alert's name replays that alert exactly as the poll applies it
    (filters, modes, one alert per story); anything else is a query, every match shown."""
    alert = find_alert(config, text)
    if alert is None:
        return _matching(config, text, since, limit)
    store = open_db(config)
    try:
        start = utcnow() - since
        bar = tqdm(
            total=store.count_articles(start), unit="article", file=sys.stderr, disable=None,
            leave=False,
        )  # fmt: skip
        result = replay_alert(config, store, alert, start, progress=lambda: bar.update())
        bar.close()
    finally:
        store.close()
    _show_replay(result, since, limit)
    return 0


def _show_replay(result: AlertReplay, since: timedelta, limit: int) -> None:
    alert = result.alert
    channels = ", ".join(f"{c} (digest)" if digest else c for c, digest in result.channels)
    stories = len(result.stories)
    print(
        f"{alert.name}: {result.alert_count} alert(s) for {stories} "
        f"{'story' if stories == 1 else 'stories'} on channels {channels}"
    )
    print(f"(articles first seen in the last {_span(since)}; {_filters(alert)})")
    for story in result.stories[:limit]:
        label = f"story #{story.story_id}" if story.story_id is not None else "story"
        print(f"\n{label}, carried by: {', '.join(story.outlets)}")
        first = story.alerted
        print(f"  alert:     {_line(first)}")
        print(f"    {first.match.snippet_marked('«', '»')}")
        for copy in story.copies:
            print(f"  later copy (no new alert): {_line(copy)}")
    if len(result.stories) > limit:
        print(f"\n... and {len(result.stories) - limit} more stories (--limit)")
    if result.filtered:
        print(f"\nmatched but not alerted: {len(result.filtered)} article(s)")
        for item in result.filtered[:limit]:
            print(f"  {item.reason}: {_line(item)}")
    print(f"{result.scanned} article(s) replayed", file=sys.stderr)


def _line(item: Replayed) -> str:
    art = item.article
    when = (art.published or art.first_seen).strftime("%Y-%m-%d %H:%M")
    return f"{when}  [{art.source}]  {art.title}  {redact_url(art.url)}"


def _filters(alert: AlertConfig) -> str:
    parts = [f"max_age {_span(alert.max_age)}" if alert.max_age else "no max_age"]
    for key, values in (("languages", alert.languages), ("sources", alert.sources),
                        ("tags", alert.tags)):  # fmt: skip
        if values:
            parts.append(f"{key} {', '.join(values)}")
    return "filters: " + "; ".join(parts)


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def search(config: Config, query: str, since: timedelta | None, limit: int) -> int:
    return _matching(config, query, since, limit)
