"""The poll ledger: polls' bookkeeping written in groups, not a transaction each.

Most polls of a large config change nothing (a 304, a feed with nothing new), yet
each must record its next check and validators and hand back its lease. One write
transaction per poll costs more than the poll itself, so the ledger buffers those
rows and writes them in one transaction every ``max_rows`` rows or ``max_delay``
seconds, whichever comes first, and when its owner stops (``aclose``).

Failed polls are buffered too (an outage fails thousands of sources at once), each
with what to do once its row is written: the streak it extends, read back in the same
transaction, decides a health notice.

Nothing is lost if the process dies first: a source whose row was still buffered
keeps its lease, which runs out (``POLL_LEASE``), and the source is polled again,
with the validators it had, so the server answers 304 again (a failed one fails
again, and its streak counts it then). Polls that end a failure streak are written at
once by the caller: whether a "recovered" notice is due must be read first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from monitor.errors import MonitorError
from monitor.observe import event
from monitor.store import FailedPoll, GoodPoll, Health

log = logging.getLogger("monitor.pipeline.ledger")

MAX_ROWS = 500
MAX_DELAY = 0.25  # seconds a row may wait: well under any lease or interval
# What a failed poll does once its row is written, given the streak it extends.
Then = Callable[[Health], Awaitable[None]]


class PollLedger:
    """Buffers ``GoodPoll`` rows for one store; all methods run on one event loop."""

    def __init__(
        self,
        write: Callable[[list[GoodPoll]], int],
        *,
        write_failures: Callable[[Sequence[FailedPoll]], list[Health]] | None = None,
        max_rows: int | None = None,
        max_delay: float | None = None,
    ) -> None:
        self._write = write
        self._write_failures = write_failures
        self._failed: list[tuple[FailedPoll, Then]] = []
        self._max_rows = max(1, MAX_ROWS if max_rows is None else max_rows)
        self._max_delay = max(0.0, MAX_DELAY if max_delay is None else max_delay)
        self._rows: list[GoodPoll] = []
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: set[asyncio.Task[None]] = set()
        self.written = 0  # rows written so far
        self.flushes = 0  # transactions that wrote them

    @property
    def pending(self) -> int:
        return len(self._rows) + len(self._failed)

    @property
    def takes_failures(self) -> bool:
        return self._write_failures is not None

    def add(self, poll: GoodPoll) -> None:
        """Buffer one good poll; a full buffer starts its write now."""
        self._rows.append(poll)
        self._added()

    def add_failure(self, poll: FailedPoll, then: Then) -> None:
        """Buffer one failed poll; ``then`` runs with its streak once it is written."""
        if self._write_failures is None:
            raise RuntimeError("this ledger was not given a way to write failures")
        self._failed.append((poll, then))
        self._added()

    def _added(self) -> None:
        if self.pending >= self._max_rows:
            self._start_flush()
        elif self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._max_delay, self._start_flush)

    def _start_flush(self) -> None:
        task = asyncio.get_running_loop().create_task(self._flush_quietly())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    def _take(self) -> tuple[list[GoodPoll], list[tuple[FailedPoll, Then]]]:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        rows, self._rows = self._rows, []
        failed, self._failed = self._failed, []
        return rows, failed

    async def flush(self) -> int:
        """Write what is buffered now, and wait for writes already started; the rows
        written. A failing database raises (its rows are dropped: see the module doc)."""
        rows, failed = self._take()
        if self._flushing:
            await asyncio.gather(*self._flushing, return_exceptions=True)
        return await self._commit(rows, failed)

    async def _flush_quietly(self) -> None:
        rows, failed = self._take()
        try:
            await self._commit(rows, failed)
        except MonitorError as exc:
            # Their leases run out and the sources are polled again; nothing else waits.
            polls = len(rows) + len(failed)
            event(log, "polls not recorded", logging.ERROR, polls=polls, error=str(exc))

    async def _commit(self, rows: list[GoodPoll], failed: list[tuple[FailedPoll, Then]]) -> int:
        written = 0
        if rows:
            written = await asyncio.to_thread(self._write, rows)
            self.written += written
            self.flushes += 1
        if failed and self._write_failures is not None:
            streaks = await asyncio.to_thread(self._write_failures, [p for p, _ in failed])
            written += len(streaks)
            self.written += len(streaks)
            self.flushes += 1
            for (poll, then), streak in zip(failed, streaks, strict=True):
                try:
                    await then(streak)
                except Exception as exc:  # one source's notice, never the others' rows
                    event(log, "after a failed poll", logging.ERROR, source_id=poll.source_id,
                          error=str(exc))  # fmt: skip
        return written

    async def aclose(self) -> None:
        """Write everything still buffered; called when the owner stops."""
        try:
            await self.flush()
        except MonitorError as exc:
            event(log, "polls not recorded", logging.ERROR, error=str(exc))
