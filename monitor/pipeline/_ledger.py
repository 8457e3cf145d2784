"""The poll ledger: good polls' bookkeeping written in groups, not a transaction each.

Most polls of a large config change nothing (a 304, a feed with nothing new), yet
each must record its next check and validators and hand back its lease. One write
transaction per poll costs more than the poll itself, so the ledger buffers those
rows and writes them in one transaction every ``max_rows`` rows or ``max_delay``
seconds, whichever comes first, and when its owner stops (``aclose``).

Nothing is lost if the process dies first: a source whose row was still buffered
keeps its lease, which runs out (``POLL_LEASE``), and the source is polled again,
with the validators it had, so the server answers 304 again. Polls that end a
failure streak, and failed polls, are written at once by the caller: their outcome
decides a health notice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from monitor.errors import MonitorError
from monitor.observe import event
from monitor.store import GoodPoll

log = logging.getLogger("monitor.pipeline.ledger")

MAX_ROWS = 500
MAX_DELAY = 0.25  # seconds a row may wait: well under any lease or interval


class PollLedger:
    """Buffers ``GoodPoll`` rows for one store; all methods run on one event loop."""

    def __init__(
        self,
        write: Callable[[list[GoodPoll]], int],
        *,
        max_rows: int | None = None,
        max_delay: float | None = None,
    ) -> None:
        self._write = write
        self._max_rows = max(1, MAX_ROWS if max_rows is None else max_rows)
        self._max_delay = max(0.0, MAX_DELAY if max_delay is None else max_delay)
        self._rows: list[GoodPoll] = []
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: set[asyncio.Task[None]] = set()
        self.written = 0  # rows written so far
        self.flushes = 0  # transactions that wrote them

    @property
    def pending(self) -> int:
        return len(self._rows)

    def add(self, poll: GoodPoll) -> None:
        """Buffer one good poll; a full buffer starts its write now."""
        self._rows.append(poll)
        if len(self._rows) >= self._max_rows:
            self._start_flush()
        elif self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._max_delay, self._start_flush)

    def _start_flush(self) -> None:
        task = asyncio.get_running_loop().create_task(self._flush_quietly())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    def _take(self) -> list[GoodPoll]:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        rows, self._rows = self._rows, []
        return rows

    async def flush(self) -> int:
        """Write what is buffered now, and wait for writes already started; the rows
        written. A failing database raises (its rows are dropped: see the module doc)."""
        rows = self._take()
        if self._flushing:
            await asyncio.gather(*self._flushing, return_exceptions=True)
        if not rows:
            return 0
        written = await asyncio.to_thread(self._write, rows)
        self.written += written
        self.flushes += 1
        return written

    async def _flush_quietly(self) -> None:
        rows = self._take()
        if not rows:
            return
        try:
            written = await asyncio.to_thread(self._write, rows)
        except MonitorError as exc:
            # Their leases run out and the sources are polled again; nothing else waits.
            event(log, "polls not recorded", logging.ERROR, polls=len(rows), error=str(exc))
            return
        self.written += written
        self.flushes += 1

    async def aclose(self) -> None:
        """Write everything still buffered; called when the owner stops."""
        try:
            await self.flush()
        except MonitorError as exc:
            event(log, "polls not recorded", logging.ERROR, error=str(exc))
