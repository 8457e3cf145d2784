"""Times as people read them in a table or on a page: "5m ago", "in 2h"."""

from __future__ import annotations

from datetime import datetime


def ago(when: datetime | None, now: datetime, never: str = "-") -> str:
    """How long before (or after) ``now`` ``when`` is, in its largest whole unit."""
    if when is None:
        return never
    seconds = int((now - when).total_seconds())
    future, seconds = seconds < 0, abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            text = f"{seconds // size}{unit}"
            break
    else:
        text = f"{seconds}s"
    return f"in {text}" if future else f"{text} ago"
