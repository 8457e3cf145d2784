"""Pages: a fetched article page read, and a fetched feed parsed, off the event loop,
in a child process.

Reading a page (``extract_article``, then the body's fingerprint, MinHash signature and
search keys) and parsing a feed (``parse_feed``) are pure CPU work on bytes.
``read_page`` and ``run_job`` do them; a ``PagePool`` runs them in child processes
(``extract_processes`` in sources.yaml), so the daemon's event loop and its rule
matching keep one core while pages and feeds are read on another, and a job that
overruns its budget is stopped by killing its child, which no thread allows.
"""

from monitor.pages._jobs import FeedJob, Job, run_job
from monitor.pages._pool import PagePool, read_in_thread, run_in_thread
from monitor.pages._read import ArticleText, PageJob, article_text, read_page

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
