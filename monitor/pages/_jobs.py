"""What a page worker runs: an article page to read, or a feed to parse.

Both are pure CPU work on fetched bytes, and feedparser is the slower of the two on
most feeds (pure Python, a few milliseconds for five items, tens for a full feed):
run in a worker, it costs the event loop only the job's pickling. A job is a frozen
dataclass, so a worker gets it as one pickle; ``run_job`` is the one dispatch.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.errors import ExtractError, FeedError, MonitorError
from monitor.feeds import Feed, parse_feed
from monitor.pages._read import PageJob, read_page


@dataclass(frozen=True, slots=True)
class FeedJob:
    """One fetched feed (picklable): its bytes, the URL it came from, its Content-Type."""

    content: bytes
    url: str
    content_type: str | None = None


Job = PageJob | FeedJob

# The failures a job reports as themselves (the page has no body, the bytes are not a
# feed): raised again as the same error in the daemon, so the poll records its kind.
# Anything else a job raises is a bug, reported as a PageWorkerError.
EXPECTED: dict[str, type[MonitorError]] = {"extract": ExtractError, "feed": FeedError}


def run_job(job: Job) -> object:
    """``read_page`` for a page, ``parse_feed`` for a feed."""
    if isinstance(job, FeedJob):
        return parse_feed(job.content, job.url, content_type=job.content_type)
    return read_page(job)


def parsed_feed(answer: object) -> Feed:
    """``answer`` as the ``Feed`` a FeedJob returns (a wrong type is a worker bug)."""
    if not isinstance(answer, Feed):
        raise TypeError(f"a feed job answered a {type(answer).__name__}")
    return answer
