"""news-monitor: polls feeds and news pages, extracts articles, dedupes them and fires alerts."""

__version__ = "0.1.0"
