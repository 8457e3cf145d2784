"""Digest schedules: ``hourly``, ``daily HH:MM``, ``weekly MON HH:MM`` or a cron line, in a
time zone.

A schedule answers "when did the last digest fall due?" and "when is the next one?"; the
delivery worker sends one whenever the channel's last digest is older than the first
answer, which is also how a digest that fell due while the daemon was down goes out when
it starts.

The fire times are APScheduler's ``CronTrigger`` (every form is one), but evaluated on the
*wall clock* of the zone and only then placed on the time line: APScheduler 3.x walking
an aware zone repeats or goes back in time in the hour clocks go back (it answers
01:00Z again when asked for the first fire time after 01:00:01Z on 25 October 2026 in
Europe/Paris). On the wall clock nothing repeats, so:

- a time that happens twice when clocks go back (02:30 on the last Sunday of October in
  Paris) falls due once, at its first occurrence;
- a time that does not exist when clocks go forward (02:30 on the last Sunday of March)
  falls due when the clocks have jumped it, an hour later in wall time (03:30).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

_TIME = r"([01]?\d|2[0-3]):([0-5]\d)"
_DAILY = re.compile(rf"^daily\s+{_TIME}$")
_WEEKLY = re.compile(rf"^weekly\s+(mon|tue|wed|thu|fri|sat|sun)\s+{_TIME}$")
_EXPECTED = (
    "expected 'hourly', 'daily HH:MM', 'weekly MON HH:MM' (mon..sun) "
    "or a cron line of five fields ('0 8 * * 1-5')"
)
# How far back to look for the last fire time, widening until one is found: the first
# window serves hourly and minute schedules in a few steps, the last a yearly cron line.
_WINDOWS = tuple(
    timedelta(days=d) for d in (2 / 24, 2, 8, 32, 367, 4 * 366 + 1)
)  # fmt: skip
# Steps walked in one window: far more than the densest sensible schedule needs there.
_MAX_STEPS = 20_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a channel's digests fall due; ``text`` is the form the config gave."""

    text: str
    zone: ZoneInfo
    # Fires on naive wall-clock times (evaluated as if UTC), see the module's docstring.
    trigger: CronTrigger = field(compare=False, repr=False)

    def _walls(self, start: datetime, stop: datetime) -> list[datetime]:
        """Wall-clock fire times in ``[start, stop]`` (naive)."""
        out: list[datetime] = []
        at = start.replace(tzinfo=UTC)
        end = stop.replace(tzinfo=UTC)
        for _ in range(_MAX_STEPS):
            fire = self.trigger.get_next_fire_time(None, at)
            if fire is None or fire > end:
                break
            out.append(fire.replace(tzinfo=None))
            at = fire + timedelta(seconds=1)
        return out

    def _instant(self, wall: datetime) -> datetime:
        # fold=0: the first of a repeated time; a skipped time takes the offset before
        # the jump, which lands it as far after the jump as it was after its start.
        return wall.replace(tzinfo=self.zone).astimezone(UTC)

    def last_due(self, now: datetime) -> datetime:
        """The latest moment at or before ``now`` when a digest fell due (the epoch if none),
        in UTC: a local time in the repeated hour would compare unequal to its instant."""
        now = now.astimezone(UTC)
        wall_now = now.astimezone(self.zone).replace(tzinfo=None)
        for window in _WINDOWS:
            # Past wall_now too: a skipped time placed after the jump may still be <= now.
            walls = self._walls(wall_now - window, wall_now + timedelta(hours=3))
            due = [t for t in map(self._instant, walls) if t <= now]
            if due:
                return max(due)
        return _EPOCH

    def next_due(self, now: datetime) -> datetime | None:
        """The first moment after ``now`` when a digest falls due (UTC); None if never."""
        now = now.astimezone(UTC)
        wall_now = now.astimezone(self.zone).replace(tzinfo=None)
        for window in _WINDOWS:
            walls = self._walls(wall_now - timedelta(hours=3), wall_now + window)
            ahead = [t for t in map(self._instant, walls) if t > now]
            if ahead:
                return min(ahead)
        return None


def _trigger(value: str) -> CronTrigger:
    if value == "hourly":
        return CronTrigger(minute=0, timezone=UTC)
    daily = _DAILY.match(value)
    if daily:
        return CronTrigger(hour=int(daily[1]), minute=int(daily[2]), timezone=UTC)
    weekly = _WEEKLY.match(value)
    if weekly:
        return CronTrigger(
            day_of_week=weekly[1], hour=int(weekly[2]), minute=int(weekly[3]), timezone=UTC
        )
    fields = value.split()
    if len(fields) == 5:
        try:
            minute, hour, day, month, weekday = fields
            return CronTrigger(
                minute=minute, hour=hour, day=day, month=month,
                day_of_week=_cron_weekdays(weekday), timezone=UTC,
            )  # fmt: skip
        except ValueError as exc:
            raise ValueError(f"not a valid cron line ({exc}); {_EXPECTED}") from None
    raise ValueError(_EXPECTED)


_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NUMBERED = re.compile(r"^(\*|\d+(?:-\d+)?)(?:/(\d+))?$")


def _cron_weekdays(field_: str) -> str:
    """A crontab day-of-week field in APScheduler's terms, by name.

    In crontab 0 (and 7) is Sunday; APScheduler 3.x counts from Monday, and its
    ``from_crontab`` passes numbers through, so "1-5" would mean Tuesday to Saturday.
    Numbers, ranges and steps are spelt out as day names; names pass as they are.
    """
    out: list[str] = []
    for item in field_.split(","):
        m = _NUMBERED.match(item)
        if m is None:
            out.append(item)  # names ("mon-fri"), or an error APScheduler will report
            continue
        span, step = m[1], int(m[2] or 1)
        first, _, last = ("0-6" if span == "*" else span).partition("-")
        low = int(first)
        # "3" is one day; "3/2" runs from 3 to the end of the week, as in crontab.
        high = int(last) if last else (6 if m[2] else low)
        if not (0 <= low <= 7 and 0 <= high <= 7 and low <= high and step >= 1):
            raise ValueError(f"day of week {item!r} is out of 0-7")
        out.extend(_WEEKDAYS[n % 7] for n in range(low, high + 1, step))
    return ",".join(dict.fromkeys(out))


def parse_schedule(text: str, zone: str = "UTC") -> Schedule:
    """A digest schedule (see the module's docstring); raises ValueError saying what was
    expected, or that a cron line never falls due."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {zone!r} (e.g. Europe/Paris, UTC)") from None
    value = " ".join(text.strip().lower().split())
    schedule = Schedule(value, tz, _trigger(value))
    if schedule.next_due(datetime.now(UTC)) is None:
        # "0 0 30 2 *" parses but 30 February never comes: refuse it at load.
        raise ValueError(f"cron line {value!r} never falls due")
    return schedule
