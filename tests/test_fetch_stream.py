"""Reads and writes that cannot wait skip httpcore's timeout scopes; the others keep them.

``_Stream`` (monitor/fetch/_pool.py) hands data already in the kernel or the read
queue straight back, and lets the transport take a write the socket accepts at once.
These tests pin what that must not change: bodies arrive whole and in order on a
kept-alive connection, a write the peer never reads still times out, by the write
timeout and by the total deadline, and the fast path is really the one taken with
the anyio this project installs (an upgrade that moved its internals would silently
fall back to the slow path; this says so).
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Iterator

import httpcore
import pytest

from monitor.errors import FetchTimeout
from monitor.fetch import Fetcher, FetchSettings
from monitor.fetch._pool import CachedSocketBackend, _Stream
from tests.faultserver import FaultServer, Reply

FAST = FetchSettings(min_delay=0.0, per_origin_concurrency=1, total_timeout=10)


@pytest.fixture
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


class DeafServer:
    """Accepts connections on 127.0.0.1 and never reads from them: a client's large
    write fills the socket buffers and then waits."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(conn)  # kept open, never read

    def __enter__(self) -> DeafServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def deaf() -> Iterator[DeafServer]:
    with DeafServer() as server:  # used like FaultServer, the module's other site
        yield server


async def test_large_bodies_arrive_whole_and_in_order_on_one_connection(site: FaultServer) -> None:
    # Distinct bodies of several MiB, one after the other on the same connection: any
    # byte read out of order, twice or not at all changes a digest.
    bodies = {
        f"/big/{n}": bytes((n * 7 + i) % 251 for i in range(3 * 1024 * 1024 + n)) for n in range(3)
    }
    for path, body in bodies.items():
        site.route(path, Reply(body, headers={"Content-Type": "application/octet-stream"}))
    async with Fetcher(FAST) as fetcher:
        for _ in range(2):
            for path, body in bodies.items():
                result = await fetcher.get(site.url(path), allow_private=True)
                assert hashlib.sha256(result.content).digest() == hashlib.sha256(body).digest()
    assert site.accepted == 1


async def _post_unread(deaf: DeafServer, settings: FetchSettings, deadline: float) -> str:
    """POST 64 MiB to a server that never reads them: more than the loopback buffers
    hold, so the write must wait. Returns the FetchTimeout's message, once it came
    within 10 s."""
    started = time.monotonic()
    async with Fetcher(settings) as fetcher:
        with pytest.raises(FetchTimeout) as raised:
            await fetcher.post(
                f"http://127.0.0.1:{deaf.port}/hook",
                b"x" * (64 * 1024 * 1024),
                {"Content-Type": "application/octet-stream"},
                allow_private=True,
                timeout=deadline,
            )
    assert time.monotonic() - started < 10
    return str(raised.value)


async def test_a_write_the_peer_never_reads_times_out_by_the_write_timeout(
    deaf: DeafServer,
) -> None:
    # The write's own timeout (read_timeout is also the write timeout) ends it long
    # before the total deadline.
    settings = FetchSettings(min_delay=0.0, read_timeout=0.5, total_timeout=30)
    assert "WriteTimeout" in await _post_unread(deaf, settings, deadline=30)


async def test_a_write_the_peer_never_reads_ends_at_the_total_deadline(deaf: DeafServer) -> None:
    settings = FetchSettings(min_delay=0.0, read_timeout=60, total_timeout=60)
    assert "deadline" in await _post_unread(deaf, settings, deadline=1.0)


async def test_plain_connections_take_the_direct_path_with_the_installed_anyio(
    site: FaultServer,
) -> None:
    site.route("/ping", Reply(b"pong"))
    backend = CachedSocketBackend(httpcore.AnyIOBackend())
    stream = await backend.connect_tcp("127.0.0.1", site.port)
    try:
        assert isinstance(stream, _Stream)
        assert stream._direct is not None, "anyio's internals moved: every read is timed"
        await stream.write(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5)
        answer = b""
        while chunk := await stream.read(65536, 5):
            answer += chunk
        assert answer.startswith(b"HTTP/1.") and answer.endswith(b"pong")
    finally:
        await stream.aclose()
