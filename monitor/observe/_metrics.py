"""Prometheus metrics, one registry per daemon (passed in, never global)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """The counters the pipeline, the delivery worker and the scheduler update."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        self.polls = Counter(
            "monitor_polls", "Source polls by outcome", ["source", "outcome"], registry=r
        )
        self.fetch_errors = Counter(
            "monitor_fetch_errors", "Failed polls and article fetches by error kind", ["kind"],
            registry=r,
        )  # fmt: skip
        self.articles = Counter(
            "monitor_articles", "Articles seen, new or duplicate", ["source", "result"], registry=r
        )
        self.alerts_created = Counter(
            "monitor_alerts_created", "Alerts written to the outbox", ["alert", "channel"],
            registry=r,
        )  # fmt: skip
        self.alerts_delivered = Counter(
            "monitor_alerts_delivered", "Alerts accepted by their channel", ["channel"], registry=r
        )
        self.alerts_failed = Counter(
            "monitor_alerts_failed", "Failed delivery attempts", ["channel"], registry=r
        )
        self.outbox_depth = Gauge(
            "monitor_outbox_depth", "Alerts not yet delivered", ["channel"], registry=r
        )
        self.fetch_seconds = Histogram(
            "monitor_fetch_seconds", "Time to fetch one URL", buckets=_LATENCY_BUCKETS, registry=r
        )
        self.extract_seconds = Histogram(
            "monitor_extract_seconds", "Time to extract one article", buckets=_LATENCY_BUCKETS,
            registry=r,
        )  # fmt: skip
        self.article_errors = Counter(
            "monitor_article_errors",
            "Articles a stage gave up on (too_slow: over its time budget; internal: a bug)",
            ["kind"],
            registry=r,
        )
        self.feed_malformed = Gauge(
            "monitor_feed_malformed",
            "1 when the source's last poll read a feed recovered from broken XML",
            ["source"],
            registry=r,
        )
        self.last_dispatch = Gauge(
            "monitor_last_dispatch_timestamp_seconds", "When the scheduler last ran", registry=r
        )
        self.digest_waiting, self.next_digest = digest_gauges(r)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def digest_gauges(registry: CollectorRegistry) -> tuple[Gauge, Gauge]:
    """Alerts waiting for a digest, and when each channel's next digest goes (Unix time)."""
    waiting = Gauge(
        "monitor_digest_waiting", "Alerts waiting for their channel's next digest", ["channel"],
        registry=registry,
    )  # fmt: skip
    next_at = Gauge(
        "monitor_next_digest_timestamp_seconds", "When the channel's next digest is due",
        ["channel"], registry=registry,
    )  # fmt: skip
    return waiting, next_at
