"""Structured logs: ``key=value`` lines by default, one JSON object a line on request.

Every stage logs through ``event(logger, "name", source=..., url=...)`` so that lines
carry the source, URL or alert they are about. Values that look like secrets are
never passed here: config objects are not logged, only names and redacted URLs.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO


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


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        parts = [f"ts={ts[:23]}Z", f"level={record.levelname.lower()}"]
        parts.append(f"event={_quote(record.getMessage())}")
        fields: dict[str, Any] = getattr(record, "fields", {})
        parts.extend(f"{k}={_quote(v)}" for k, v in fields.items())
        if record.exc_info:
            parts.append(f"exc={_quote(self.formatException(record.exc_info))}")
        return " ".join(parts)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
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


def setup_logging(fmt: str = "kv", level: str = "INFO", stream: TextIO | None = None) -> None:
    """Configure the root logger once for the command line."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries log request lines with full URLs and headers at INFO: keep them quiet.
    for noisy in ("httpx", "httpcore", "apscheduler", "aiosmtplib", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
