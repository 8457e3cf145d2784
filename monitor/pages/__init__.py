"""Pages: a fetched article page read off the event loop, in a child process.

Reading a page (``extract_article``, then the body's fingerprint, MinHash signature and
search keys) is pure CPU work on bytes. ``read_page`` does it; a ``PagePool`` runs it in
child processes (``extract_processes`` in sources.yaml), so the daemon's event loop and
its rule matching keep one core while pages are read on another, and a page that
overruns its budget is stopped by killing its child, which no thread allows.
"""

from monitor.pages._pool import PagePool, read_in_thread
from monitor.pages._read import ArticleText, PageJob, article_text, read_page

__all__ = ["ArticleText", "PageJob", "PagePool", "article_text", "read_in_thread", "read_page"]
