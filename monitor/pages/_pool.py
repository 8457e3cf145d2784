"""``PagePool``: child processes that read pages and parse feeds, each with a few jobs
queued to it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import sys
from collections import deque
from typing import Any

from monitor.errors import PageWorkerError, StageTooSlow
from monitor.extract import Article
from monitor.feeds import Feed
from monitor.observe import event
from monitor.pages._jobs import EXPECTED, FeedJob, Job, parsed_feed, run_job
from monitor.pages._read import ArticleText, PageJob
from monitor.pages._wire import HEADER, READY, frame
from monitor.rules import WordNotes, learn_notes

log = logging.getLogger("monitor.pages")

CHILD = ("-m", "monitor.pages._child")
# Jobs written to a child ahead of its answers: it starts the next page as soon as it
# is done with one, instead of idling until a busy event loop reads the answer and
# writes the next job (which, measured, left it idle half the time).
DEPTH = 3
# Seconds a closing pool gives its children to answer the jobs they hold.
CLOSE_WAIT = 30.0
# Bytes the pipe to a child holds (Linux's default is 64 KiB; 1 MiB is what an
# unprivileged process may ask for by default). A news page is 100 to 300 KB: through
# the default pipe it goes in pieces, each written when the event loop comes back to
# it while the child waits on the rest. Cycle (b) of bench/pipeline.py, in alternating
# runs: 3.7 to 4.1 s through the default pipe, 3.1 to 3.4 s through this one
# (docs/pipeline-bench.md).
PIPE_BYTES = 1 << 20


class _Lost(Exception):
    """The child died before it answered this job: while reading it (``suspect``: the
    job may be what killed it), or with the job still queued behind another."""

    def __init__(self, message: str, *, suspect: bool) -> None:
        super().__init__(message)
        self.suspect = suspect


class _Child:
    """One worker process, its pipes and the jobs written to it, answered in order."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        # Each job written and not yet answered: its answer's future and its budget.
        self.waiting: deque[tuple[asyncio.Future[Any], float]] = deque()
        # Armed for the job at the head of ``waiting``, from when the child began it:
        # a job queued behind a slow one is not charged for its wait.
        self._watchdog: asyncio.TimerHandle | None = None
        self._overdue = False
        # True once the child said it is ready (its imports done), False if it ended
        # before it did.
        self.ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.reader = asyncio.ensure_future(self._answers())

    @classmethod
    async def start(cls) -> _Child:
        process = await asyncio.create_subprocess_exec(
            sys.executable, *CHILD, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        if process.stdin is not None:
            _widen(process.stdin.transport, PIPE_BYTES)
        return cls(process)

    @property
    def alive(self) -> bool:
        return not self.reader.done()

    async def send(self, job: Job, budget: float) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting.append((future, budget))
        if len(self.waiting) == 1:
            self._arm()
        stdin = self.process.stdin
        assert stdin is not None  # a pipe (start)
        try:
            stdin.write(frame(job))
            await stdin.drain()
        except (ConnectionError, RuntimeError):
            self.kill()  # the reader sees the end and fails what is waiting
        return future

    def _arm(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        budget = self.waiting[0][1]
        self._watchdog = asyncio.get_running_loop().call_later(budget, self._too_slow)

    def _too_slow(self) -> None:
        self._overdue = True
        self.kill()

    async def _answers(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            head = await stdout.readexactly(HEADER.size)
            if pickle.loads(await stdout.readexactly(HEADER.unpack(head)[0])) != READY:
                raise IndexError("the worker did not start with its ready frame")
            self.ready.set_result(True)
            while True:
                head = await stdout.readexactly(HEADER.size)
                answer, notes = _loaded(await stdout.readexactly(HEADER.unpack(head)[0]))
                if notes is not None:
                    learn_notes(notes)
                future, _ = self.waiting.popleft()
                if self.waiting:
                    self._arm()
                elif self._watchdog is not None:
                    self._watchdog.cancel()
                if not future.done():  # its caller may have been cancelled meanwhile
                    future.set_result(answer)
        except (asyncio.IncompleteReadError, ConnectionError):
            # Its stdout ended: the child is gone. No kill(): Popen's own check before
            # signalling would reap it under the loop's child watcher, which would
            # then report 255 instead of the child's real exit code.
            pass
        except IndexError:  # an answer to no job: the pipe is out of step
            self.kill()
        except Exception as exc:
            # A bug of this reader: without the kill below, the wait for the child's
            # exit would never end, nor would the jobs it holds.
            error = f"{type(exc).__name__}: {exc}"
            event(log, "page worker reader failed", logging.ERROR, error=error)
            self.kill()
        except asyncio.CancelledError:
            # The loop is going away (its tasks cancelled): so does the child, and the
            # jobs it holds are cancelled with their callers, not tried again.
            self.kill()
            for future, _ in self.waiting:
                future.cancel()
            raise
        finally:
            if not self.ready.done():
                self.ready.set_result(False)
            if self._watchdog is not None:
                self._watchdog.cancel()
            await self.process.wait()
            exited = f"the page worker exited ({self.process.returncode})"
            if self._overdue and self.waiting:
                # The overdue job is the one the child died on (killed for it): the
                # jobs behind it only waited.
                budget = self.waiting[0][1]
                self._fail_head(StageTooSlow(f"took more than {budget:g} s"))
            else:
                self._fail_head(_Lost(exited, suspect=True))
            while self.waiting:
                self._fail_head(_Lost(exited, suspect=False))

    def _fail_head(self, exc: Exception) -> None:
        if self.waiting:
            future, _ = self.waiting.popleft()
            if not future.done():
                future.set_exception(exc)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()

    async def close(self) -> None:
        """Let the child finish what it holds, then end its stdin: it exits."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(asyncio.shield(self.reader), CLOSE_WAIT)
        except TimeoutError:
            self.kill()
            await self.reader


def _widen(transport: asyncio.BaseTransport, size: int) -> None:
    """Ask the kernel to let the pipe under ``transport`` hold ``size`` bytes.

    Only a speed-up: where it cannot (not Linux, ``pipe-max-size`` set lower, a user
    past its pipe quota) the pipe stays as it was, and every frame still goes through.
    """
    try:
        import fcntl  # not on Windows
    except ImportError:
        return
    pipe = transport.get_extra_info("pipe")
    setter = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if pipe is not None and setter is not None:
        with contextlib.suppress(OSError, ValueError):
            fcntl.fcntl(pipe.fileno(), setter, size)


class PagePool:
    """Up to ``size`` children reading pages (``read_page``) and parsing feeds
    (``parse_feed``), each started on first need; with ``size`` 0, both are done in a
    thread of this process instead.

    A job that overruns the budget has its child killed (``StageTooSlow``); one whose
    child dies on it is tried once more in a fresh child, then given up
    (``PageWorkerError``, kind ``internal``): either way only that job is lost. Where
    no child can be started at all, jobs run in a thread and a warning says so.
    """

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError("a page pool cannot have fewer than no processes")
        self.size = size
        self._children: list[_Child] = []
        # Jobs held by the children at most: DEPTH each (a semaphore, not a condition
        # every waiter wakes on: hundreds of pages can be waiting).
        self._room: asyncio.Semaphore | None = None
        self._starting: set[asyncio.Task[_Child | None]] = set()
        self._unavailable = False
        self._closed = False
        # Whether a child has ever said it is ready: until then jobs are done in a thread
        # rather than queued behind the first child's start-up (its imports).
        self._warm = False

    async def read(self, job: PageJob, budget: float) -> tuple[Article, ArticleText]:
        """``read_page(job)`` in a child, given ``budget`` seconds of its time."""
        return _page(await self._run(job, budget))

    async def parse_feed(self, job: FeedJob, budget: float) -> Feed:
        """``parse_feed`` of ``job``'s bytes in a child, given ``budget`` seconds."""
        return parsed_feed(await self._run(job, budget))

    async def _run(self, job: Job, budget: float) -> object:
        if self._closed:
            raise PageWorkerError("the page pool is closed")
        if not self.size or self._unavailable:
            return await run_in_thread(job, budget)
        if not self._warm:
            # The first child is starting (a fifth of a second of imports, on the path
            # of the first jobs of every cycle `monitor fetch` or `run --once` runs):
            # meanwhile this process does the jobs itself.
            self._first_child()
            return await run_in_thread(job, budget)
        if self._room is None:
            self._room = asyncio.Semaphore(self.size * DEPTH)
        suspected = 0
        async with self._room:
            while True:
                child = await self._child()
                if child is None:
                    return await run_in_thread(job, budget)
                try:
                    return _answer(await (await child.send(job, budget)))
                except _Lost as exc:
                    # Tried again in a fresh child; a page its child died reading twice
                    # is given up, one that only waited behind such a page never is.
                    suspected += exc.suspect
                    if suspected == 2:
                        raise PageWorkerError(f"{exc} on this page, twice") from None

    def warm_up(self) -> None:
        """Start the first child now, in the background, instead of with the first job
        (call from the event loop); jobs still go to a thread until it is ready."""
        if self.size and not self._closed and not self._unavailable:
            self._first_child()

    def _first_child(self) -> None:
        if self._children or self._starting:
            return
        task = asyncio.ensure_future(self._start())
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    async def _child(self) -> _Child | None:
        """The live child holding the fewest jobs; a new one while that child is busy
        and there is room for another; None when no child can be started."""
        self._children = [c for c in self._children if c.alive]
        if self._unavailable:
            return None
        best = min(self._children, key=lambda c: len(c.waiting), default=None)
        if (best is None or best.waiting) and len(self._children) + len(self._starting) < self.size:
            task = asyncio.ensure_future(self._start())
            self._starting.add(task)
            task.add_done_callback(self._starting.discard)
            return await asyncio.shield(task)
        if best is None:  # every child is still starting: wait for one
            return await asyncio.shield(next(iter(self._starting)))
        return best

    async def _start(self) -> _Child | None:
        try:
            child = await _Child.start()
        except OSError as exc:
            self._unavailable = True
            event(
                log, "page workers unavailable: pages are read in a thread", logging.WARNING,
                error=f"{type(exc).__name__}: {exc}",
            )  # fmt: skip
            return None
        self._children.append(child)
        child.ready.add_done_callback(self._started)
        return child

    def _started(self, ready: asyncio.Future[bool]) -> None:
        if ready.cancelled():
            return
        if ready.result():
            self._warm = True
        elif not self._warm and not self._closed:
            # The first child ended before it was ready (a broken install, a missing
            # library): one per job would fail the same way.
            self._unavailable = True
            event(
                log, "page workers unavailable: pages are read in a thread", logging.WARNING,
                error="the page worker exited before it was ready",
            )  # fmt: skip

    async def aclose(self) -> None:
        """Stop every child once it has answered what it holds."""
        self._closed = True
        if self._starting:
            # A first child is started in the background while its jobs run in a thread:
            # they may all be done before its process exists. It is closed with the rest.
            await asyncio.gather(*self._starting, return_exceptions=True)
        children, self._children = self._children, []
        await asyncio.gather(*(child.close() for child in children))


async def read_in_thread(job: PageJob, budget: float) -> tuple[Article, ArticleText]:
    """``read_page(job)`` in a thread of this process, given ``budget`` seconds."""
    return _page(await run_in_thread(job, budget))


async def run_in_thread(job: Job, budget: float) -> object:
    """``run_job(job)`` in a thread of this process, given ``budget`` seconds."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(run_job, job), budget)
    except TimeoutError:
        raise StageTooSlow(f"took more than {budget:g} s") from None


def _loaded(data: bytes) -> tuple[tuple[str, Any], WordNotes | None]:
    """An answer frame's ``(kind, value)`` and the words the child worked out for it.

    A frame that cannot be unpickled here (a class the child has and this process has
    not, a type that does not load back) is that job's error: the frame was read whole,
    so the pipe stays in step for the next ones.
    """
    try:
        kind, value, notes = pickle.loads(data)
    except Exception as exc:
        error = f"the page worker's answer could not be read: {type(exc).__name__}: {exc}"
        return ("error", error), None
    return (kind, value), notes


def _answer(answer: Any) -> object:
    kind, value = answer
    if kind == "ok":
        return value
    expected = EXPECTED.get(kind)
    if expected is not None:
        raise expected(value)
    raise PageWorkerError(value)


def _page(answer: object) -> tuple[Article, ArticleText]:
    """``answer`` as what a PageJob returns (anything else is a worker bug)."""
    if isinstance(answer, tuple) and len(answer) == 2:
        article, text = answer
        if isinstance(article, Article) and isinstance(text, ArticleText):
            return article, text
    raise TypeError(f"a page job answered a {type(answer).__name__}")
