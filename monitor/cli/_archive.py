"""``monitor rules test`` and ``monitor search``: the query language over stored articles."""

from __future__ import annotations

import sys
from datetime import timedelta

from tqdm import tqdm

from monitor.cli._admin import open_db
from monitor.config import Config
from monitor.pipeline import count_candidates, match_stored, utcnow


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


def replay(config: Config, query: str, since: timedelta, limit: int) -> int:
    """`rules test`: what a query would have fired on over the stored history."""
    return _matching(config, query, since, limit)


def search(config: Config, query: str, since: timedelta | None, limit: int) -> int:
    return _matching(config, query, since, limit)
