"""Structured logs: ``key=value`` lines by default, one JSON object a line on request.

Every stage logs through ``event(logger, "name", source=..., url=...)`` so that lines
carry the source, URL or alert they are about. Values that look like secrets are
never passed here: config objects are not logged, only names and redacted URLs. As a
last line of defence every formatted line, libraries' included, goes through a
``Redactor``: URL passwords and the config's known secrets become ``***``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from monitor.text import redact_urls

# Apprise logs its requests, tokens and all, below WARNING; nothing below passes.
QUIET_BELOW_WARNING = ("httpx", "httpcore", "apscheduler", "aiosmtplib", "alembic", "apprise")


def event(logger: logging.Logger, name: str, level: int = logging.INFO, /, **fields: Any) -> None:
    """Log ``name`` with structured fields (None values are left out)."""
    if logger.isEnabledFor(level):
        clean = {k: v for k, v in fields.items() if v is not None}
        logger.log(level, name, extra={"fields": clean})


def _quote(value: object) -> str:
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    if text == "" or any(c in text for c in ' "=\n\t'):
        return json.dumps(text, ensure_ascii=False)
    return text


class Redactor:
    """Blanks URL passwords and the secrets it is told about in a formatted line."""

    def __init__(self) -> None:
        self._secrets: tuple[str, ...] = ()

    def hold(self, secrets: Iterable[str]) -> None:
        """The secrets of the running config (a reload passes the new set)."""
        # Longest first: a secret that contains another is blanked whole. Their
        # JSON-escaped forms too, as they appear inside quoted values.
        found = {s for s in secrets if s}
        found |= {json.dumps(s, ensure_ascii=False)[1:-1] for s in found}
        self._secrets = tuple(sorted(found, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return redact_urls(text)


class _Redacting(logging.Formatter):
    redactor: Redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor(self.render(record))

    def render(self, record: logging.LogRecord) -> str:
        raise NotImplementedError


class KeyValueFormatter(_Redacting):
    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def render(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        parts = [f"ts={ts[:23]}Z", f"level={record.levelname.lower()}"]
        parts.append(f"event={_quote(record.getMessage())}")
        fields: dict[str, Any] = getattr(record, "fields", {})
        parts.extend(f"{k}={_quote(v)}" for k, v in fields.items())
        if record.exc_info:
            parts.append(f"exc={_quote(self.formatException(record.exc_info))}")
        return " ".join(parts)


class JsonFormatter(_Redacting):
    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def render(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            "logger": record.name,
        }
        out.update(getattr(record, "fields", {}))
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def setup_logging(fmt: str = "kv", level: str = "INFO", stream: TextIO | None = None) -> Redactor:
    """Configure the root logger once for the command line; returns the redactor every
    line goes through (``hold_secrets`` feeds it the config's secrets)."""
    redactor = Redactor()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(redactor) if fmt == "json" else KeyValueFormatter(redactor))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries log request lines with full URLs and headers at INFO: keep them quiet.
    for noisy in QUIET_BELOW_WARNING:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return redactor


def hold_secrets(secrets: Iterable[str]) -> None:
    """Give the secrets of the running config to the redactor of every handler that
    setup_logging installed (a no-op when logging was set up otherwise)."""
    values = tuple(secrets)
    for handler in logging.getLogger().handlers:
        formatter = handler.formatter
        if isinstance(formatter, _Redacting):
            formatter.redactor.hold(values)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` safe to print: URL passwords and ``secrets`` blanked (command output)."""
    redactor = Redactor()
    redactor.hold(secrets)
    return redactor(text)
