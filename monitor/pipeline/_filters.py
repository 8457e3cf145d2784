"""Which alerts an article fires: the alert's filters, its channels and their modes.

The one place these decisions live. The poll (``_article.prepare``), the dry run
(``monitor fetch``) and the replay of an alert over the archive (``monitor rules test
ALERT``) all call it, so a preview can never disagree with what a poll sends.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.alerts import AlertPayload, ArticleInfo
from monitor.config import AlertConfig, Config
from monitor.rules import Document, Match
from monitor.store import NewAlert


def rejection(alert: AlertConfig, doc: Document, dated: datetime, seen: datetime) -> str | None:
    """Why ``alert`` does not fire on ``doc`` although its query matched, or None when it
    fires. ``dated`` is the article's date (its first-seen time when it has none) and
    ``seen`` when the monitor first saw it: ``max_age`` is measured between the two."""
    if alert.max_age is not None and seen - dated > alert.max_age:
        # Stored, not alerted: an old backlog must not flood anyone.
        return f"older than max_age ({_days(seen - dated)} old)"
    if alert.languages and (doc.language or "") not in alert.languages:
        return f"language {doc.language or 'unknown'} not in languages"
    if alert.sources and doc.source not in alert.sources:
        return f"source {doc.source} not in sources"
    if alert.tags and not set(alert.tags) & set(doc.tags):
        return "no tag in tags"
    return None


def alert_applies(alert: AlertConfig, doc: Document, dated: datetime, seen: datetime) -> bool:
    return rejection(alert, doc, dated, seen) is None


def is_digest(config: Config, alert: AlertConfig, channel: str) -> bool:
    """The alert's own mode wins over the channel's."""
    return (alert.mode or config.channels[channel].mode) == "digest"


def new_alerts(
    config: Config, alert: AlertConfig, match: Match, doc: Document, dated: datetime
) -> list[NewAlert]:
    """One outbox row per channel of ``alert``, for an article it fires on."""
    payload = _payload(alert, match, doc, dated).to_json()
    return [
        NewAlert(alert.name, channel, payload, digest=is_digest(config, alert, channel))
        for channel in alert.notify
    ]


def alerts_for(
    config: Config,
    alerts: dict[str, AlertConfig],
    matched: dict[str, Match],
    doc: Document,
    dated: datetime,
    seen: datetime,
) -> tuple[dict[str, Match], list[NewAlert]]:
    """Of the rules whose query ``matched`` the article, those whose filters let it through,
    and the outbox rows they create."""
    fired: dict[str, Match] = {}
    out: list[NewAlert] = []
    for name, match in matched.items():
        alert = alerts[name]
        if not alert_applies(alert, doc, dated, seen):
            continue
        fired[name] = match
        out.extend(new_alerts(config, alert, match, doc, dated))
    return fired, out


def _payload(alert: AlertConfig, match: Match, doc: Document, dated: datetime) -> AlertPayload:
    article = ArticleInfo(
        url=doc.url,
        title=doc.title,
        source=doc.source,
        published=dated,
        language=doc.language,
        snippet=match.snippet_marked("", ""),
        snippet_html=match.snippet_html(),
    )
    return AlertPayload(alert.name, alert.query, tuple(match.terms), article, match.words)


def _days(age: timedelta) -> str:
    return f"{age.total_seconds() / 86400:.1f}d"
