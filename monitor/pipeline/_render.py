"""An article page as the extractor gets it: as served, or after Chromium ran its scripts.

``render: browser`` sources load their pages through ``monitor.render``, every request
of the browser fetched by the runtime's ``Fetcher`` under the source's guard and
robots.txt. Where Playwright or Chromium is missing, the page is read as served and
the error, with how to install them, is logged once per source and counted.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import replace

from monitor.config import Config, SourceConfig
from monitor.errors import RenderUnavailable
from monitor.fetch import FetchResult
from monitor.observe import event
from monitor.pipeline._runtime import Runtime
from monitor.render import Renderer, RenderSettings

log = logging.getLogger("monitor.pipeline.render")


def render_settings(config: Config) -> RenderSettings:
    b = config.browser
    return RenderSettings(
        chromium=b.chromium, concurrency=b.concurrency, timeout=b.timeout.total_seconds(),
        max_requests=b.max_requests, max_bytes=4 * config.fetch.max_size,
        max_memory=b.max_memory, idle=b.idle.total_seconds(), user_agent=config.fetch.user_agent,
    )  # fmt: skip


def _renderer(rt: Runtime) -> Renderer:
    if rt.renderer is None:
        rt.renderer = Renderer(render_settings(rt.config))
    return rt.renderer


async def page_of(rt: Runtime, source: SourceConfig, url: str) -> tuple[FetchResult, bool]:
    """The page at ``url`` and whether it was rendered by the browser."""
    get = functools.partial(
        rt.fetcher.get, allow_private=rt.config.source_allows_private(source), obey_robots=True
    )
    if source.render != "browser":
        return await get(url), False
    started = time.monotonic()
    try:
        rendered = await _renderer(rt).render(url, get)
    except RenderUnavailable as exc:
        rt.metrics.fetch_errors.labels(exc.kind).inc()
        if rt.renderer is not None and source.name not in rt.renderer.told:
            rt.renderer.told.add(source.name)
            event(log, "browser unavailable: pages read as served", logging.ERROR,
                  source=source.name, error=str(exc))  # fmt: skip
        return await get(url), False
    page = replace(
        rendered.document, content=rendered.html.encode("utf-8"), charset="utf-8",
        content_type="text/html", elapsed=time.monotonic() - started,
    )  # fmt: skip
    return page, True
