"""Digest schedules: ``hourly`` or ``daily HH:MM`` in a time zone.

A schedule only answers "when did the last digest fall due?"; the delivery worker
sends one whenever the channel's last digest is older than that, which is also how a
digest that fell due while the daemon was down goes out when it starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DAILY = re.compile(r"^daily\s+([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class Schedule:
    every: str  # "hourly" or "daily"
    at: time | None
    zone: ZoneInfo

    def last_due(self, now: datetime) -> datetime:
        """The latest moment at or before ``now`` when a digest fell due."""
        local = now.astimezone(self.zone)
        if self.every == "hourly":
            return local.replace(minute=0, second=0, microsecond=0)
        assert self.at is not None
        due = datetime.combine(local.date(), self.at, tzinfo=self.zone)
        if due > local:
            due = datetime.combine(local.date() - timedelta(days=1), self.at, tzinfo=self.zone)
        return due


def parse_schedule(text: str, zone: str = "UTC") -> Schedule:
    """``hourly`` or ``daily 08:00``; raises ValueError with what was expected."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {zone!r} (e.g. Europe/Paris, UTC)") from None
    value = " ".join(text.strip().lower().split())
    if value == "hourly":
        return Schedule("hourly", None, tz)
    m = _DAILY.match(value)
    if m:
        return Schedule("daily", time(int(m.group(1)), int(m.group(2))), tz)
    raise ValueError("expected 'hourly' or 'daily HH:MM'")
