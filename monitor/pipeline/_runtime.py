"""What a poll needs, passed in: the config, the store, the fetcher, the rules, a clock."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from monitor.config import Config, SourceConfig
from monitor.dedupe import Signature
from monitor.extract import Article
from monitor.feeds import Feed
from monitor.fetch import Fetcher
from monitor.observe import Metrics
from monitor.pages import ArticleText, FeedJob, PageJob, PagePool
from monitor.pipeline._ledger import PollLedger
from monitor.pipeline._rules import Rules
from monitor.pipeline._sitemap_cache import SitemapCache
from monitor.pipeline._stories import BandStories, StoryTracker, stories_for
from monitor.render import Renderer
from monitor.store import BandQuery, NearFinder, Store

# Far above what any real page needs (a 3 MB page of deeply nested cells extracts in
# under 3 s), so only a page the bounds failed to tame reaches it.
STAGE_BUDGET = 20.0


def started_pages(config: Config) -> PagePool:
    """The page workers ``config`` asks for (``extract_processes``), the first one
    starting now in the background (call from the event loop), for a ``Runtime`` built
    later: ``run --once`` makes them before it opens the store, so that the worker's
    imports overlap the sync and the first fetches."""
    pages = PagePool(config.page_processes())
    pages.warm_up()
    return pages


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    config: Config
    store: Store | None  # None in a dry run, which writes nothing
    fetcher: Fetcher
    rules: Rules
    clock: Callable[[], datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)
    metrics: Metrics = field(default_factory=Metrics)
    # None: the database's index on PostgreSQL, one in this process on SQLite.
    stories: StoryTracker | BandStories | None = None
    # Seconds one page's extraction, or one article's matching, may take in its worker
    # thread before the poll gives up on that article (kind too_slow).
    stage_budget: float = field(default_factory=lambda: STAGE_BUDGET)
    # Where good polls' bookkeeping is buffered and written in groups (see _ledger);
    # None writes each poll's at once, as a one-off caller (a test, a preview) expects.
    ledger: PollLedger | None = None
    _by_name: tuple[Config, dict[str, SourceConfig]] | None = field(default=None, repr=False)
    # Child sitemaps' validators and entries, so an unchanged child answers 304 (_sitemap).
    sitemaps: SitemapCache = field(default_factory=SitemapCache)
    # The headless browser of ``render: browser`` sources, started on first use.
    renderer: Renderer | None = field(default=None, repr=False)
    # The page worker processes (``extract_processes``), each started on first use; a
    # reload's replace() hands the same pool on, so its children outlive the reload.
    pages: PagePool = field(default=None, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.pages is None:
            self.pages = PagePool(self.config.page_processes())

    async def aclose(self) -> None:
        """Stop what the runtime started itself (the browser, the page workers; the
        caller owns the rest)."""
        await self.pages.aclose()
        if self.renderer is not None:
            await self.renderer.aclose()

    async def read_page(self, job: PageJob) -> tuple[Article, ArticleText]:
        """``read_page(job)`` within the stage budget, in a page worker or a thread."""
        return await self.pages.read(job, self.stage_budget)

    async def parse_feed(self, job: FeedJob) -> Feed:
        """``parse_feed`` of a fetched feed within the stage budget, in a page worker or
        a thread."""
        return await self.pages.parse_feed(job, self.stage_budget)

    def db(self) -> Store:
        if self.store is None:
            raise RuntimeError("this runtime has no store (dry run)")
        return self.store

    def near(self, sig: Signature, now: datetime) -> NearFinder | BandQuery:
        """How an insert of an article with ``sig`` finds the story it joins."""
        if self.stories is None:
            self.stories = stories_for(self.store)
        return self.stories.finder(sig, now)

    def start_ledger(self) -> PollLedger:
        """Buffer good polls from now on; the caller flushes it (``aclose``) on stopping."""
        if self.ledger is None:
            store = self.db()
            self.ledger = PollLedger(store.release_successes, write_failures=store.release_failures)
        return self.ledger

    def source(self, name: str) -> SourceConfig | None:
        # Built on first use per config: a scan per poll grows with the square of sources.
        by_name = self._by_name
        if by_name is None or by_name[0] is not self.config:
            by_name = self._by_name = (self.config, {s.name: s for s in self.config.sources})
        return by_name[1].get(name)
