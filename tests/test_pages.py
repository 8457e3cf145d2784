"""Page workers (``monitor.pages``): pages read and feeds parsed in child processes, as
in a thread.

Real child processes throughout: one stopped with SIGSTOP stands for a page that never
ends, one killed with SIGKILL for a page that crashes its reader, and a parent killed
with SIGKILL shows that no worker outlives its daemon.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.errors import FeedError, PageWorkerError, StageTooSlow
from monitor.feeds import parse_feed
from monitor.pages import (
    FeedJob,
    PageJob,
    PagePool,
    _pool,
    read_in_thread,
    read_page,
    run_in_thread,
)
from monitor.rules import Document, RuleIndex, _analysis, parse_query

BODY = "Amazon annonce des licenciements liés à l'IA dans ses entrepôts, dit la direction. "
PAGE = (
    "<html lang='fr'><head><title>Amazon et l'IA</title></head><body><nav>Accueil Sport"
    f"</nav><article><p>{BODY * 8}</p></article></body></html>"
).encode()
WHEN = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
PIPE_MAX = Path("/proc/sys/fs/pipe-max-size")


def _job(content: bytes = PAGE, **kwargs: object) -> PageJob:
    return PageJob(content=content, url="https://news.example/a", fetched_at=WHEN, **kwargs)  # type: ignore[arg-type]


RSS = (
    "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Le Fil</title>"
    "<ttl>30</ttl>"
    + "".join(
        f"<item><title>Dépêche {i}</title><link>https://news.example/{i}</link>"
        f"<pubDate>Fri, 04 Dec 2026 0{i}:00:00 GMT</pubDate>"
        f"<description>{BODY}</description></item>"
        for i in range(5)
    )
    + "</channel></rss>"
).encode()
ATOM = (
    b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>A</title>"
    b"<entry><title>Un</title><link href='/un'/><id>u1</id>"
    b"<updated>2026-12-04T08:00:00Z</updated><content type='html'>&lt;p&gt;Texte&lt;/p&gt;"
    b"</content></entry></feed>"
)
JSON_FEED = (
    b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": '
    b'[{"id": "1", "url": "https://news.example/j", "title": "Jay", "content_text": "Hello"}]}'
)
# Broken XML that feedparser still reads entries from: the feed says why it is malformed.
BROKEN = RSS.replace(b"</channel></rss>", b"<item><title>Six &</title></item></channel>")
HTML_PAGE = b"<!doctype html><html><head><title>Accueil</title></head><body>Bonjour</body></html>"


def _feed_job(content: bytes, content_type: str | None = "application/rss+xml") -> FeedJob:
    return FeedJob(content, "https://news.example/feed.xml", content_type)


def _pids(pool: PagePool) -> list[int]:
    return [child.process.pid for child in pool._children if child.alive]


async def _ready(pool: PagePool, limit: float = 20) -> None:
    """Wait until ``pool``'s first worker is ready: until then its jobs go to a thread."""
    deadline = time.monotonic() + limit
    while not pool._warm:
        assert time.monotonic() < deadline, f"no page worker got ready in {limit:g} s"
        await asyncio.sleep(0.01)


async def _started(pool: PagePool) -> PagePool:
    """``pool`` once its first worker is ready."""
    await pool.read(_job(), 20)  # starts the first worker
    await _ready(pool)
    return pool


async def _worker_takes_the_next_job(pool: PagePool) -> None:
    """Stop ``pool``'s one worker and show the next job went to it: the job is killed
    at its budget (a thread would have read the page)."""
    (worker,) = _pids(pool)
    os.kill(worker, signal.SIGSTOP)
    with pytest.raises(StageTooSlow):
        await pool.read(_job(), 1.0)


async def test_a_page_read_in_a_worker_is_the_page_read_in_a_thread() -> None:
    pool = PagePool(1)
    try:
        jobs = [_job(), _job(b"<html><body><p>court</p></body></html>", entry_text=BODY * 4)]
        for job in jobs:
            assert await pool.read(job, 20) == read_page(job)
        _, text = await pool.read(jobs[0], 20)
        assert "licenciements" in text.body and "Accueil" not in text.body
        assert text.language == "fr" and text.signature.usable and text.comparable
        # The short page's body is the feed entry's own text.
        assert (await pool.read(jobs[1], 20))[1].body == BODY * 4
    finally:
        await pool.aclose()
    assert await read_in_thread(jobs[0], 20) == read_page(jobs[0])


async def test_a_feed_parsed_in_a_worker_is_the_feed_parsed_in_a_thread() -> None:
    pool = await _started(PagePool(1))
    jobs = [_feed_job(RSS), _feed_job(ATOM, None), _feed_job(JSON_FEED, "application/feed+json"),
            _feed_job(BROKEN)]  # fmt: skip
    try:
        for job in jobs:
            here = parse_feed(job.content, job.url, content_type=job.content_type)
            assert await pool.parse_feed(job, 20) == here
        rss = await pool.parse_feed(jobs[0], 20)
        assert [e.title for e in rss.entries] == [f"Dépêche {i}" for i in range(5)]
        assert rss.ttl == 30 * 60 and rss.malformed is None
        assert (await pool.parse_feed(jobs[3], 20)).malformed
        # Pages and feeds share the worker, each job getting its own kind of answer.
        page, feed = await asyncio.gather(pool.read(_job(), 20), pool.parse_feed(jobs[1], 20))
        assert page[0].title == "Amazon et l'IA" and feed.entries[0].title == "Un"
        assert len(_pids(pool)) == 1
    finally:
        await pool.aclose()
    assert await run_in_thread(jobs[0], 20) == await PagePool(0).parse_feed(jobs[0], 20)


async def test_a_bad_feed_is_a_feed_error_from_a_worker_as_from_a_thread() -> None:
    pool = await _started(PagePool(1))
    bad = _feed_job(HTML_PAGE, "text/html")
    with pytest.raises(FeedError) as here:
        parse_feed(bad.content, bad.url, content_type=bad.content_type)
    try:
        await pool.parse_feed(_feed_job(RSS), 20)
        (worker,) = _pids(pool)
        for content in (HTML_PAGE, b"", b"<rss><channel><title>x"):
            with pytest.raises(FeedError) as there:
                await pool.parse_feed(_feed_job(content, "text/html" if content else None), 20)
            assert there.value.kind == "feed"
            if content == HTML_PAGE:
                assert str(there.value) == str(here.value)
        # A bad feed is that feed's failure: the same worker reads the next one.
        assert len((await pool.parse_feed(_feed_job(RSS), 20)).entries) == 5
        assert _pids(pool) == [worker]
        os.kill(worker, signal.SIGSTOP)  # as a feed that never ends would hold it
        with pytest.raises(StageTooSlow):
            await pool.parse_feed(_feed_job(RSS), 1.0)
        assert len((await pool.parse_feed(_feed_job(RSS), 20)).entries) == 5
        assert worker not in _pids(pool)
    finally:
        await pool.aclose()


async def test_many_pages_at_once_share_the_workers_and_each_gets_its_own_answer() -> None:
    pool = await _started(PagePool(2))
    try:
        jobs = [_job(entry_title=f"n{i}", content=PAGE.replace(b"Amazon et", f"{i} et".encode()))
                for i in range(40)]  # fmt: skip
        answers = await asyncio.gather(*(pool.read(job, 20) for job in jobs))
        assert [a.title for a, _ in answers] == [f"{i} et l'IA" for i in range(40)]
        assert len(_pids(pool)) == 2
    finally:
        await pool.aclose()


async def test_a_news_page_reaches_its_worker_in_one_write_and_a_bigger_one_in_several() -> None:
    # Through Linux's default 64 KiB pipe a 200 KB page went in pieces, each written
    # when a busy event loop came back to it, while the worker waited on the rest.
    pool = await _started(PagePool(1))
    try:
        stdin = pool._children[0].process.stdin
        assert stdin is not None
        held = fcntl.fcntl(stdin.transport.get_extra_info("pipe").fileno(), fcntl.F_GETPIPE_SZ)
        allowed = int(PIPE_MAX.read_text())  # noqa: ASYNC240 - a kernel setting, no disk
        assert held == min(allowed, _pool.PIPE_BYTES) and held >= 300_000
        # Past the pipe's size, the frame still arrives whole, in several writes.
        words = " ".join(f"mot{i}," for i in range(400_000))
        big = PAGE.replace(b"</article>", f"<p>{words}</p></article>".encode())
        assert len(big) > 3 * held
        article, _ = await pool.read(_job(big), 60)
        assert article.text.endswith("mot399999,")
        assert (await pool.read(_job(), 20)) == read_page(_job())  # and the pipe is in step
    finally:
        await pool.aclose()


async def test_a_stuck_worker_is_killed_at_the_budget_and_the_next_page_gets_a_new_one() -> None:
    pool = await _started(PagePool(1))
    try:
        (stuck,) = _pids(pool)
        os.kill(stuck, signal.SIGSTOP)  # as a page that never ends would hold it
        started = time.monotonic()
        with pytest.raises(StageTooSlow):
            await pool.read(_job(), 1.0)
        assert time.monotonic() - started < 5
        article, _ = await pool.read(_job(), 20)
        assert article.title == "Amazon et l'IA"
        assert _pids(pool) != [stuck]
        with pytest.raises(ProcessLookupError):
            os.kill(stuck, 0)  # killed and reaped, not left stopped
    finally:
        await pool.aclose()


class _Crashing(PageJob):
    """A job the worker dies on: unpickling it calls os._exit, as a crash would end it."""

    def __reduce__(self) -> tuple[object, tuple[int]]:
        return os._exit, (3,)


async def _queued(pool: PagePool) -> int:
    # The pid of the child holding a job, once the pool has written one to it.
    for _ in range(1000):
        held = [c for c in pool._children if c.alive and c.waiting]
        if held:
            return held[0].process.pid
        await asyncio.sleep(0.005)
    raise AssertionError("no job was handed to a worker")


async def test_a_worker_killed_mid_page_hands_the_page_to_a_fresh_one() -> None:
    pool = await _started(PagePool(1))
    try:
        (first,) = _pids(pool)
        os.kill(first, signal.SIGSTOP)  # so the page is still held when it is killed
        reading = asyncio.create_task(pool.read(_job(), 20))
        assert await _queued(pool) == first
        os.kill(first, signal.SIGKILL)  # as the kernel's OOM killer would
        article, _ = await reading
        assert article.title == "Amazon et l'IA" and first not in _pids(pool)
    finally:
        await pool.aclose()


async def test_a_page_that_crashes_its_worker_costs_that_page_only() -> None:
    pool = await _started(PagePool(1))
    try:
        crash = _Crashing(content=PAGE, url="https://news.example/crash", fetched_at=WHEN)
        before, bad, after = await asyncio.gather(
            pool.read(_job(), 20), pool.read(crash, 20), pool.read(_job(), 20),
            return_exceptions=True,
        )  # fmt: skip
        # The page queued behind the crash was read again by a fresh worker.
        assert not isinstance(before, BaseException) and before[0].title == "Amazon et l'IA"
        assert not isinstance(after, BaseException) and after[0].title == "Amazon et l'IA"
        # The crashing page was tried in a second worker, then given up, kind internal.
        assert isinstance(bad, PageWorkerError) and bad.kind == "internal"
        assert "exited (3)" in str(bad) and "twice" in str(bad)
        assert (await pool.read(_job(), 20))[0].title == "Amazon et l'IA"
    finally:
        await pool.aclose()


# A worker whose answer for one page is an object of a class only it has (defined in
# its own __main__): the parent cannot unpickle that answer.
_UNREADABLE_ANSWER = textwrap.dedent(
    """
    from monitor.pages import _child

    class Unreadable:
        pass

    real = _child.run_job

    def run_job(job):
        return Unreadable() if job.url.endswith("/unreadable") else real(job)

    _child.run_job = run_job
    _child.main()
    """
)


async def test_an_answer_the_daemon_cannot_read_fails_that_page_and_hangs_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_pool, "CHILD", ("-c", _UNREADABLE_ANSWER))
    pool = await _started(PagePool(1))
    try:
        (worker,) = _pids(pool)
        odd = PageJob(content=PAGE, url="https://news.example/unreadable", fetched_at=WHEN)
        before, bad, after = await asyncio.wait_for(
            asyncio.gather(
                pool.read(_job(), 20), pool.read(odd, 20), pool.read(_job(), 20),
                return_exceptions=True,
            ),
            30,  # before the fix the reader died on the answer and the daemon waited forever
        )  # fmt: skip
        assert isinstance(bad, PageWorkerError) and bad.kind == "internal"
        assert "could not be read" in str(bad) and "Unreadable" in str(bad)
        # The pages on either side were answered, by the same worker: the pipe kept in step.
        assert not isinstance(before, BaseException) and before[0].title == "Amazon et l'IA"
        assert not isinstance(after, BaseException) and after[0].title == "Amazon et l'IA"
        assert _pids(pool) == [worker]
    finally:
        await pool.aclose()


async def test_closing_the_pool_ends_every_worker() -> None:
    pool = await _started(PagePool(2))
    await asyncio.gather(*(pool.read(_job(), 20) for _ in range(6)))
    pids = _pids(pool)
    assert pids
    await pool.aclose()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(PageWorkerError):
        await pool.read(_job(), 20)


def test_no_worker_outlives_a_daemon_killed_with_sigkill(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent(f"""\
        import asyncio, sys
        from datetime import UTC, datetime
        from monitor.pages import PageJob, PagePool

        async def main():
            pool = PagePool(1)
            job = PageJob(content={PAGE!r}, url="https://news.example/a",
                          fetched_at=datetime.now(UTC))
            await pool.read(job, 20)
            while not pool._warm:
                await asyncio.sleep(0.01)
            print(pool._children[0].process.pid, flush=True)
            await asyncio.sleep(60)

        asyncio.run(main())
        """)
    )
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        os.kill(child, 0)  # alive while its parent is
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                break
            # An orphan is reparented to init, which reaps it once it exits.
            time.sleep(0.05)
        else:
            pytest.fail(f"page worker {child} still running 10 s after its parent died")
    finally:
        parent.kill()
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()


async def test_jobs_do_not_wait_for_the_first_worker_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A worker 3 s slow to start (its imports take some 0.2 s): the jobs of meanwhile
    # are done in this process, not queued behind its start-up.
    slow = "import time; time.sleep(3); from monitor.pages._child import main; main()"
    monkeypatch.setattr(_pool, "CHILD", ("-c", slow))
    pool = PagePool(1)
    try:
        started = time.monotonic()
        assert await pool.read(_job(), 20) == read_page(_job())
        assert (await pool.parse_feed(_feed_job(RSS), 20)).ttl == 30 * 60
        assert time.monotonic() - started < 2.5 and len(_pids(pool)) == 1
        await _ready(pool, 30)
        # Once it is ready the worker does the jobs.
        await _worker_takes_the_next_job(pool)
    finally:
        await pool.aclose()


async def test_the_words_a_worker_read_reach_the_daemons_matcher_as_its_own() -> None:
    # The worker reads every word of a page for its search keys; the daemon's matcher
    # would read them again, each new word a stemming on the event loop's lock.
    word = "zorblaxifications"  # made up: nothing in this process has read it
    body = f"The committee published its {word} on Tuesday, officials told reporters. "
    page = f"<html lang='en'><body><article><p>{body * 6}</p></article></body></html>"
    assert word not in _analysis._CHUNK_WORDS
    pool = await _started(PagePool(1))
    try:
        _, text = await pool.read(_job(page.encode()), 20)
    finally:
        await pool.aclose()
    # In this process's caches, as this process would have worked them out itself.
    assert _analysis._CHUNK_WORDS[word] == ((0, len(word), word, word),)
    for lang in ("english", "french/english"):
        assert _analysis._DOC_KEYS[lang][word] == _analysis._keys(lang, word)[0]
    index = RuleIndex()
    index.add("new-word", parse_query("zorblaxification"))
    doc = Document(title=text.title, text=text.body, language=text.language)
    assert list(index.match(doc)) == list(index.match_brute_force(doc)) == ["new-word"]


async def test_a_warmed_up_pool_has_its_worker_ready_before_the_first_job() -> None:
    # run --once warms its pool up first thing, so that the first pages are not read
    # in the daemon's own threads while the worker imports its libraries.
    pool = PagePool(1)
    try:
        pool.warm_up()
        await _ready(pool)
        await _worker_takes_the_next_job(pool)  # the very first job, not to a thread
        assert await pool.read(_job(), 20) == read_page(_job())  # in a fresh worker
    finally:
        await pool.aclose()


def test_a_page_worker_starts_without_the_pool_and_its_metrics() -> None:
    # The worker imports this package to run _child; the pool would bring logging,
    # metrics and prometheus_client, a fifth of its start-up, for nothing.
    probe = (
        "import sys, monitor.pages._child; "
        "print(sorted(m for m in sys.modules if m.startswith(('monitor.pages._pool', "
        "'monitor.observe', 'prometheus_client'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


async def test_a_worker_that_cannot_start_leaves_every_job_to_a_thread(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    starts: list[int] = []
    real = _pool._Child.start

    async def counted() -> _pool._Child:
        child = await real()
        starts.append(child.process.pid)
        return child

    monkeypatch.setattr(_pool, "CHILD", ("-c", "import sys; sys.exit(3)"))  # a broken install
    monkeypatch.setattr(_pool._Child, "start", staticmethod(counted))
    pool = PagePool(1)
    try:
        for _ in range(3):
            assert (await pool.read(_job(), 20))[0].title == "Amazon et l'IA"
            await asyncio.sleep(0.3)  # time for the worker to exit
        pages = await asyncio.gather(*(pool.read(_job(), 20) for _ in range(5)))
        assert {article.title for article, _ in pages} == {"Amazon et l'IA"}
    finally:
        await pool.aclose()
    assert len(starts) == 1  # not one doomed process per page
    assert "page workers unavailable" in caplog.text


async def test_a_pool_closed_while_its_first_worker_starts_leaves_no_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    starts: list[int] = []
    real = _pool._Child.start

    async def counted() -> _pool._Child:
        child = await real()
        starts.append(child.process.pid)
        return child

    monkeypatch.setattr(_pool._Child, "start", staticmethod(counted))
    pool = PagePool(1)
    # Done in a thread while the worker is started in the background; then the pool
    # closes, as `monitor fetch` does after one page, before the worker has started.
    assert len((await pool.parse_feed(_feed_job(RSS), 20)).entries) == 5
    await pool.aclose()
    await asyncio.sleep(0.5)  # a start still under way would have ended by now
    assert len(starts) == 1
    with pytest.raises(ProcessLookupError):
        os.kill(starts[0], 0)  # closed and reaped with the pool


async def test_no_processes_reads_in_a_thread() -> None:
    pool = PagePool(0)
    article, _ = await pool.read(_job(), 20)
    assert article.title == "Amazon et l'IA" and pool._children == []
    await pool.aclose()
