"""The web view: read-only HTML pages and a JSON API over the store.

Served beside ``/healthz`` and ``/metrics`` by ``monitor run --http`` and alone by
``monitor web``. Pages are Jinja2 templates (autoescaped) with one stylesheet and no
script; ``/api/`` answers the same data as JSON (docs/web.md). What keeps it safe to
expose — loopback by default, a token beyond it, strict headers, no secret in any
answer — is in ``_security``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable

from monitor.config import Config
from monitor.observe import Handler, HealthCheck, Metrics, event, observe_routes, serve
from monitor.store import Store, open_store
from monitor.web._app import WebApp
from monitor.web._security import check_bind, guarded, secrets_of

log = logging.getLogger("monitor.web")


def web_handler(
    config: Callable[[], Config], store: Store, metrics: Metrics, health: HealthCheck
) -> Handler:
    """``/healthz``, ``/metrics`` and the web view, behind the config's token."""
    return guarded(observe_routes(metrics, health, WebApp(config, store)), config().http.token)


async def serve_web(config: Config, host: str, port: int) -> None:
    """``monitor web``: the pages alone, over the database, until SIGTERM/SIGINT."""
    check_bind(host, config.http.token)
    store = await asyncio.to_thread(open_store, config.database)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    started = time.monotonic()

    async def health() -> tuple[bool, str]:
        # No scheduler here: healthy is the database answering.
        ok = await asyncio.to_thread(store.ping)
        return ok, "ok\n" if ok else "database does not answer\n"

    try:
        server = await serve(host, port, web_handler(lambda: config, store, Metrics(), health))
        event(log, "serving the web view", listen=f"{host}:{port}", token=bool(config.http.token))
        async with server:
            await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await asyncio.to_thread(store.close)
        event(log, "stopped", seconds=round(time.monotonic() - started))


__all__ = [
    "WebApp",
    "check_bind",
    "guarded",
    "secrets_of",
    "serve_web",
    "web_handler",
]
