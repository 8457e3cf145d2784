"""The web view's routes: each page and its ``/api/`` twin read the same data.

A route names a data function (``_data``) and a template; ``/api/...`` answers the
data as JSON instead of rendering it. Both pass through ``scrub`` first, so a secret
that reached the database (an error message quoting a URL, say) never leaves it.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from monitor.config import Config
from monitor.observe import Request, Response
from monitor.store import Store
from monitor.web import _data
from monitor.web._render import render
from monitor.web._security import scrub, secrets_of

HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"

View = Callable[[Config, Store, Request, tuple[str, ...]], Any]


class NotFound(Exception):
    pass


def _overview(c: Config, s: Store, r: Request, g: tuple[str, ...]) -> Any:
    return _data.overview(c, s)


def _stories(c: Config, s: Store, r: Request, g: tuple[str, ...]) -> Any:
    return _data.stories(s, _data.page_of(r.arg("page")))


def _story(c: Config, s: Store, r: Request, g: tuple[str, ...]) -> Any:
    found = _data.story(c, s, int(g[0]), r.arg("q"))
    if found is None:
        raise NotFound(f"no story #{g[0]}")
    return found


def _search(c: Config, s: Store, r: Request, g: tuple[str, ...]) -> Any:
    return _data.search(c, s, r.arg("q"), r.arg("since"), _data.page_of(r.arg("page")))


def _sources(c: Config, s: Store, r: Request, g: tuple[str, ...]) -> Any:
    return {"items": _data.sources(c, s)}


def _alerts(c: Config, s: Store, r: Request, g: tuple[str, ...]) -> Any:
    return _data.alerts(s, _data.page_of(r.arg("page")), r.arg("status"))


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    view: View
    template: str
    title: str


ROUTES = [
    Route(re.compile(p), view, template, title)
    for p, view, template, title in (
        (r"/", _overview, "overview.html", "Overview"),
        (r"/stories", _stories, "stories.html", "Stories"),
        (r"/stories/(\d{1,12})", _story, "story.html", "Story"),
        (r"/search", _search, "search.html", "Search"),
        (r"/sources", _sources, "sources.html", "Sources"),
        (r"/alerts", _alerts, "alerts.html", "Alerts"),
    )
]


def _stylesheet() -> bytes:
    return resources.files("monitor.web").joinpath("static/style.css").read_bytes()


# Web requests answered at once; the rest wait their turn.
WEB_CONCURRENCY = 2


class WebApp:
    """The pages and the API over one store; ``config`` is asked on each request so a
    reload's new alerts and sources show at once."""

    def __init__(self, config: Callable[[], Config], store: Store) -> None:
        self.config = config
        self.store = store
        self.css = _stylesheet()
        # Pages read the archive in worker threads; a few expensive searches at once must
        # not take every thread the daemon's polls and deliveries also wait for.
        self._slots = asyncio.Semaphore(WEB_CONCURRENCY)
        # The secrets to blank, worked out once per config (a reload makes a new one)
        # rather than over every source and channel on every request.
        self._secrets: tuple[Config, tuple[str, ...]] | None = None

    def _secrets_of(self, config: Config) -> tuple[str, ...]:
        cached = self._secrets
        if cached is None or cached[0] is not config:
            cached = self._secrets = (config, secrets_of(config))
        return cached[1]

    async def __call__(self, request: Request) -> Response:
        if request.path == "/static/style.css":
            return Response(200, self.css, "text/css; charset=utf-8")
        api = request.path.startswith("/api/")
        path = request.path.removeprefix("/api") if api else request.path
        if api:
            # The overview is /api/overview; a bare /api/ is no page.
            path = {"/": "/-", "/overview": "/"}.get(path, path)
        for route in ROUTES:
            m = route.pattern.fullmatch(path)
            if m:
                async with self._slots:
                    return await asyncio.to_thread(self._answer, route, request, m.groups(), api)
        return await asyncio.to_thread(self._error, 404, "no such page", api, request)

    def _answer(
        self, route: Route, request: Request, groups: tuple[str, ...], api: bool
    ) -> Response:
        config = self.config()
        try:
            data = route.view(config, self.store, request, groups)
        except NotFound as exc:
            return self._error(404, str(exc), api, request)
        except _data.BadRequest as exc:
            return self._error(400, str(exc), api, request)
        data = scrub(data, self._secrets_of(config))
        if api:
            return Response(200, _json(data), JSON)
        page = render(route.template, data=data, title=route.title, request=request)
        return Response(200, page.encode(), HTML)

    def _error(self, status: int, message: str, api: bool, request: Request) -> Response:
        message = scrub(message, self._secrets_of(self.config()))
        if api:
            return Response(status, _json({"error": message}), JSON)
        page = render("error.html", data={"status": status, "message": message},
                      title=f"Error {status}", request=request)  # fmt: skip
        return Response(status, page.encode(), HTML)


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, default=_default, indent=1).encode()


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"not JSON: {type(value).__name__}")
