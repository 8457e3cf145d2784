"""Looking without touching: a source's listing and articles as a poll would see them,
and one page through the extractor; nothing is stored or sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from monitor.config import Config, SourceConfig
from monitor.errors import MonitorError
from monitor.extract import Article, article_to_dict, extract_article
from monitor.fetch import Fetcher, FetchSettings
from monitor.pipeline._dryrun import DryRun
from monitor.pipeline._listing import fetch_candidates
from monitor.pipeline._rules import Rules
from monitor.pipeline._runtime import Runtime
from monitor.store import open_existing
from monitor.text import redact_url


@asynccontextmanager
async def preview_source(config: Config, source: SourceConfig) -> AsyncIterator[DryRun]:
    """The source's listing, and a verdict on each of its articles on demand. The database
    is read when it already exists (to tell what is stored and already alerted), never
    created, migrated or written."""
    store = open_existing(config.database)
    try:
        async with Fetcher(FetchSettings.from_config(config.fetch)) as fetcher:
            rt = Runtime(config, store, fetcher, Rules.from_config(config))
            try:
                listing = await fetch_candidates(rt, source)
                yield DryRun(rt, source, listing, redact_url(config.database) if store else None)
            finally:
                await rt.aclose()
    finally:
        if store is not None:
            store.close()


def extract_target(target: str, selector: str | None) -> tuple[Article, dict[str, Any]]:
    """Extract an http(s) URL (fetched with the default manners) or a local HTML file."""
    url: str | None
    if target.startswith(("http://", "https://")):

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
    return article, article_to_dict(article)
