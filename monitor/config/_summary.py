"""What ``monitor check`` prints of a valid config: a summary, each source's effective
polling range, and warnings about settings that are allowed but unsafe."""

from __future__ import annotations

import importlib.util
import os
from datetime import timedelta
from typing import Any

from monitor.config._schema import Config, EmailChannel, SourceConfig, WebhookChannel
from monitor.text import redact_url


def polling_range(source: SourceConfig) -> tuple[timedelta, timedelta]:
    """The shortest and longest wait between two polls of a healthy source: with
    ``adaptive`` on, a quiet source drifts from its interval up to its ceiling."""
    if not source.adaptive:
        return source.interval, source.interval
    return source.interval, source.ceiling()


def describe_polling(source: SourceConfig) -> str:
    low, high = polling_range(source)
    if low == high:
        return f"every {format_duration(low)}"
    return f"every {format_duration(low)} to {format_duration(high)} (adaptive)"


def config_warnings(config: Config) -> list[str]:
    """Settings `run` accepts but an operator should know about."""
    out = []
    used = {c for a in config.alerts for c in a.notify}
    used |= set(config.health.notify) if config.health else set()
    for name, channel in config.channels.items():
        if isinstance(channel, WebhookChannel) and name in used and not any(channel.secrets):
            out.append(
                f"channels.{name} has no secret (an unset variable?): webhooks are always "
                "signed, so its alerts stay queued until one is set"
            )
        if not isinstance(channel, EmailChannel):
            continue
        smtp = channel.smtp
        if (smtp.tls, smtp.port) == ("starttls", 465):
            out.append(
                f"channels.{name}.smtp: port 465 speaks TLS from the first byte: "
                "tls: ssl, most likely (with starttls every send times out)"
            )
        elif smtp.tls == "ssl" and smtp.port in (25, 587):
            out.append(
                f"channels.{name}.smtp: port {smtp.port} starts in clear: tls: starttls, "
                "most likely (with ssl every send fails)"
            )
        if not channel.smtp.verify and channel.smtp.tls != "none":
            out.append(
                f"channels.{name}.smtp.verify is false: the relay's certificate is not "
                "checked, so anyone on the path can read the mail and the password"
            )
    return out + _browser_warnings(config)


def _browser_warnings(config: Config) -> list[str]:
    # Not an error: the pages are still read as served, and the machine that runs the
    # daemon may not be the one that checks the file.
    rendered = [s.name for s in config.sources if s.render == "browser"]
    if not rendered:
        return []
    missing = []
    if importlib.util.find_spec("playwright") is None:
        missing.append("Playwright (uv sync --extra browser)")
    path = config.browser.chromium
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        missing.append(f"Chromium at {path} (apt-get install chromium, or set browser.chromium)")
    if not missing:
        return []
    return [
        f"sources {', '.join(rendered)} have render: browser but this machine lacks "
        f"{' and '.join(missing)}: their pages would be read as served"
    ]


def summarize(config: Config) -> str:
    """A short human summary for ``monitor check``."""
    out = [f"database: {redact_url(config.database)}"]
    out.append(f"{len(config.sources)} source(s):")
    for s in config.sources:
        state = "" if s.enabled else " (disabled)"
        out.append(
            f"  {s.name:<24} {s.kind:<4} {describe_polling(s):<30} {redact_url(s.url)}{state}"
        )
    out.append(f"{len(config.alerts)} alert(s):")
    for a in config.alerts:
        out.append(f"  {a.name:<24} {a.query!r} -> {', '.join(a.notify)}")
    out.append(f"{len(config.channels)} channel(s):")
    for name, ch in config.channels.items():
        out.append(f"  {name:<24} {ch.type:<7} {ch.target()}")
    if any(s.adaptive and polling_range(s)[0] != polling_range(s)[1] for s in config.sources):
        out.append(
            "(adaptive: a source that publishes rarely is polled less often, up to its "
            "max_interval; set adaptive: false to poll at the interval exactly)"
        )
    out += [f"warning: {w}" for w in config_warnings(config)]
    return "\n".join(out)


def check_report(config: Config, file: str) -> dict[str, Any]:
    """``monitor check --json``: the same facts as :func:`summarize`, for scripts."""
    sources = []
    for s in config.sources:
        low, high = polling_range(s)
        sources.append({
            "name": s.name, "url": redact_url(s.url), "kind": s.kind, "enabled": s.enabled,
            "interval": format_duration(s.interval), "adaptive": s.adaptive,
            "min_interval_seconds": low.total_seconds(),
            "max_interval_seconds": high.total_seconds(),
            "tags": list(s.tags),
        })  # fmt: skip
    return {
        "file": file,
        "ok": True,
        "database": redact_url(config.database),
        "sources": sources,
        "alerts": [
            {"name": a.name, "query": a.query, "notify": list(a.notify)} for a in config.alerts
        ],
        "channels": [
            {"name": n, "type": c.type, "target": c.target()} for n, c in config.channels.items()
        ],
        "warnings": config_warnings(config),
        "errors": [],
    }


def format_duration(d: timedelta) -> str:
    seconds = int(d.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
