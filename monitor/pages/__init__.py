"""Pages: a fetched article page read, and a fetched feed parsed, off the event loop,
in a child process.

Reading a page (``extract_article``, then the body's fingerprint, MinHash signature and
search keys) and parsing a feed (``parse_feed``) are pure CPU work on bytes.
``read_page`` and ``run_job`` do them; a ``PagePool`` runs them in child processes
(``extract_processes`` in sources.yaml), so the daemon's event loop and its rule
matching keep one core while pages and feeds are read on another, and a job that
overruns its budget is stopped by killing its child, which no thread allows.
"""

from typing import TYPE_CHECKING

from monitor.pages._jobs import FeedJob, Job, run_job
from monitor.pages._read import ArticleText, PageJob, article_text, read_page

if TYPE_CHECKING:
    from monitor.pages._pool import PagePool, read_in_thread, run_in_thread

# Imported on first use: a page worker imports this package to run ``_child`` and never
# needs the pool, which brings monitor.observe (logging, metrics) with it: a fifth of
# the worker's start-up, on the path of the first pages of every ``run --once``.
_LAZY = frozenset({"PagePool", "read_in_thread", "run_in_thread"})


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from monitor.pages import _pool

        return getattr(_pool, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ArticleText",
    "FeedJob",
    "Job",
    "PageJob",
    "PagePool",
    "article_text",
    "read_in_thread",
    "read_page",
    "run_in_thread",
    "run_job",
]
