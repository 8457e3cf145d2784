"""``--http HOST:PORT``: ``/healthz`` and Prometheus ``/metrics`` on a tiny asyncio server.

Health means the scheduler dispatched recently and the database answers; anything else
is 503, so a container orchestrator restarts a wedged daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from monitor.errors import ConfigError
from monitor.observe._metrics import Metrics

HealthCheck = Callable[[], Awaitable[tuple[bool, str]]]


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--http {value!r}: expected HOST:PORT, e.g. 127.0.0.1:9100")
    return host.strip("[]") or "127.0.0.1", int(port)


async def serve(host: str, port: int, metrics: Metrics, health: HealthCheck) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            # Drain the headers; the body of a GET is ignored.
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request.decode("latin-1").split()
            path = parts[1] if len(parts) >= 2 else "/"
            status, ctype, body = await _route(path.split("?", 1)[0], metrics, health)
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return await asyncio.start_server(handle, host, port)


async def _route(path: str, metrics: Metrics, health: HealthCheck) -> tuple[str, str, bytes]:
    if path == "/metrics":
        return "200 OK", "text/plain; version=0.0.4; charset=utf-8", metrics.render()
    if path == "/healthz":
        ok, detail = await health()
        return ("200 OK" if ok else "503 Service Unavailable"), "text/plain", detail.encode()
    return "404 Not Found", "text/plain", b"not found: try /healthz or /metrics\n"
