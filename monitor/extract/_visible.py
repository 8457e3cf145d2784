"""Dates as a reader sees them, in French and English: the last resort for ``published``.

« Publié le 01/12/2026 à 10h32 », « 1er décembre 2025 », "Dec. 1, 2025",
"December 1st, 2025, 10:32 a.m.", « il y a 3 heures », "yesterday at 6:05 pm".
Numeric dates are day first (01/12/2026 is the 1st of December) unless the page is
American English, where the month comes first; a part above 12 settles it either way.
Relative dates count back from the fetch time; a written-out zone ("CET", "UTC+1",
« heure de Paris ») wins over the caller's zone.

Hand-written rather than dateparser: the forms news pages use are few, these regular
expressions run in microseconds on the handful of strings the metadata reader hands
over, where dateparser spends milliseconds per string and, given free text, finds
dates in ordinary words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class DateContext:
    """What a date written for readers leaves out: when the page was fetched (for
    "3 hours ago"), its time zone, and whether numeric dates put the month first."""

    fetched: datetime | None = None
    zone: tzinfo | None = None
    month_first: bool = False

    def now(self) -> datetime:
        return self.fetched if self.fetched is not None else datetime.now(UTC)


_MONTHS = {
    # English
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11,
    "nov": 11, "december": 12, "dec": 12,
    # French (accents optional: pages and feeds drop them)
    "janvier": 1, "janv": 1, "février": 2, "fevrier": 2, "févr": 2, "fevr": 2, "fév": 2,
    "fev": 2, "mars": 3, "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7,
    "juil": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "décembre": 12, "decembre": 12, "déc": 12,
}  # fmt: skip
# Month names that are also ordinary words: a date with one of them needs its year.
_COMMON_WORDS = frozenset({"may", "mar"})
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
# Templates glue the year to what follows ("July 9, 2025Edited by", "Apr 16, 20240 min
# read"): a year is 19xx or 20xx, whatever comes after it.
_YEAR = r"((?:19|20)\d{2})"
_DAY_FIRST = re.compile(
    rf"\b(\d{{1,2}})(?:er|ᵉʳ|st|nd|rd|th)?\s+(?:de\s+)?({_MONTH})\b\.?(?:,?\s+{_YEAR})?",
    re.IGNORECASE,
)
_MONTH_FIRST = re.compile(
    rf"\b({_MONTH})\b\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+{_YEAR})?", re.IGNORECASE
)
_YEAR_FIRST = re.compile(r"\b(\d{4})([-/])(\d{1,2})\2(\d{1,2})\b")
# 01/12/2026, 1.12.2026, 01-12-2026, 01/12/26 (two-digit years with slashes only:
# "3.10.24" is as likely a version number).
_NUMERIC = re.compile(r"\b(\d{1,2})([/.-])(\d{1,2})\2(\d{4}\b|\d{2}\b(?<=/\d\d))")
_NUMBER = r"(\d{1,6}|une?|an?|one|quelques|a few|few)"
_AGO_FR = re.compile(
    rf"\bil y a\s+{_NUMBER}\s*(secondes?|sec|s|minutes?|mins?|mn|heures?|h|jours?|j|"
    r"semaines?|mois|ans?|années?)\b",
    re.IGNORECASE,
)
_AGO_EN = re.compile(
    rf"\b{_NUMBER}\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|"
    r"months?|years?|yrs?)\s+ago\b",
    re.IGNORECASE,
)
_DAY_WORD = re.compile(
    r"\b(?:([Aa]vant-hier)|([Hh]ier)|([Aa]ujourd['’]hui)|([Yy]esterday)|([Tt]oday)|"
    r"([ÀàAa] l['’]instant|[Jj]ust now))(?![\w-])"
)  # case-sensitive: "USA TODAY" is a newspaper
_TIME = re.compile(
    r"[\s,]*(?:(?:à|a|at|@|-|–|—|\||/|T|vers)(?![a-zà-ü])[\s,]*)?(\d{1,2})"
    r"(?:\s*[:hH.]\s*(\d{2})(?::(\d{2}))?|\s*([hH])(?![a-zà-ü]))?"
    r"(?:\s*([aApP])\.?\s?[mM]\b\.?)?"
)
_ZONE = re.compile(
    r"\s*\(?\s*(?:(UTC|GMT|Z|CET|CEST|WET|WEST|BST|EST|EDT|CST|CDT|MST|MDT|PST|PDT|ET|PT|"
    r"(?i:heure de Paris))\b\s*(?:([+-])\s*(\d{1,2})(?::?(\d{2}))?)?)"
)  # case-sensitive: French "et" is not Eastern Time
_OFFSETS = {
    "utc": 0, "gmt": 0, "z": 0, "wet": 0, "west": 1, "cet": 1, "cest": 2, "bst": 1,
    "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
}  # fmt: skip
_NAMED_ZONES = {
    "et": "America/New_York",
    "pt": "America/Los_Angeles",
    "heure de paris": "Europe/Paris",
}
_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "seconde": 1, "secondes": 1, "second": 1, "seconds": 1,
    "m": 60, "mn": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "heure": 3600, "heures": 3600, "hour": 3600,
    "hours": 3600, "j": 86400, "d": 86400, "jour": 86400, "jours": 86400, "day": 86400,
    "days": 86400, "semaine": 604800, "semaines": 604800, "week": 604800, "weeks": 604800,
    "wk": 604800, "wks": 604800, "mois": 2_592_000, "month": 2_592_000,
    "months": 2_592_000, "an": 31_536_000, "ans": 31_536_000, "année": 31_536_000,
    "années": 31_536_000, "year": 31_536_000, "years": 31_536_000, "yr": 31_536_000,
    "yrs": 31_536_000,
}  # fmt: skip
_WORD_NUMBERS = {"un": 1, "une": 1, "a": 1, "an": 1, "one": 1, "quelques": 3, "a few": 3, "few": 3}
# "November 20 15:23 2019": a year after the time.
_LATE_YEAR = re.compile(
    rf"[\s,]*(?:\d{{1,2}}[:hH]\d{{2}}\s*(?:[aApP]\.?\s?[mM]\.?)?\s*)?{_YEAR}(?!\d)"
)
# A time (and zone) just before a date: "7:07 PM EST Nov 19, 2019", "10h32, le 1er mars".
_TIME_BEFORE = re.compile(
    r"(\d{1,2}\s*[:hH]\s*\d{2}(?:\s*[aApP]\.?\s?[mM]\.?)?(?:\s*[A-Z]{1,4})?)[\s,]*"
    r"(?:on|le|du)?[\s,]*$"
)
# Text a date and its time may span: a match is looked for in this much after its start.
_TAIL = 40


def _zone_after(text: str, context: DateContext) -> tuple[tzinfo, int]:
    """The zone written right after a time (and the characters it took), else the
    context's, else UTC."""
    match = _ZONE.match(text)
    if match is None:
        return context.zone or UTC, 0
    name = match.group(1).lower()
    if name in _NAMED_ZONES:
        return ZoneInfo(_NAMED_ZONES[name]), match.end()
    hours = _OFFSETS[name]
    if match.group(2):
        sign = -1 if match.group(2) == "-" else 1
        minutes = int(match.group(4) or 0)
        if int(match.group(3)) > 14 or minutes > 59:
            return context.zone or UTC, 0
        return timezone(sign * timedelta(hours=int(match.group(3)), minutes=minutes)), match.end()
    return timezone(timedelta(hours=hours)), match.end()


def _time_after(text: str) -> tuple[time | None, int]:
    """The time of day written right after a date ("à 10h32", ", 10:32 a.m.", "at 6 pm")."""
    match = _TIME.match(text)
    if match is None:
        return None, 0
    hour_s, minute_s, second_s, h_mark, meridiem = match.groups()
    if minute_s is None and h_mark is None and meridiem is None:
        return None, 0  # a bare number after a date is not a time
    hour, minute = int(hour_s), int(minute_s or 0)
    if meridiem:
        if not 1 <= hour <= 12:
            return None, 0
        hour = hour % 12 + (12 if meridiem.lower() == "p" else 0)
    if hour > 23 or minute > 59:
        return None, 0
    return time(hour, minute, int(second_s or 0) % 60), match.end()


def _at(day: date, rest: str, context: DateContext, before: str = "") -> datetime:
    when, used = _time_after(rest)
    zone = context.zone or UTC
    if when is not None:
        zone, _ = _zone_after(rest[used:], context)
    else:
        # "Published 7:07 PM EST Nov 19, 2019": the time written before the date.
        match = _TIME_BEFORE.search(before)
        if match is not None:
            when, used = _time_after(match.group(1))
            if when is not None:
                zone, _ = _zone_after(match.group(1)[used:], context)
    return datetime.combine(day, when or time(), tzinfo=zone)


def _day(year: int | None, month: int, day: int, context: DateContext) -> date | None:
    try:
        if year is not None:
            return date(year + 2000 if year < 100 else year, month, day)
        # "le 3 mars": the latest such day that is not after the fetch.
        today = context.now().date()
        found = date(today.year, month, day)
        return found if found <= today + timedelta(days=1) else date(today.year - 1, month, day)
    except ValueError:
        return None


def _absolute(match: re.Match[str], rest: str, context: DateContext) -> date | None:
    pattern, groups = match.re, match.groups()
    if pattern in (_DAY_FIRST, _MONTH_FIRST):
        day_s, month_s = (groups[0], groups[1]) if pattern is _DAY_FIRST else groups[1::-1]
        late = _LATE_YEAR.match(rest) if not groups[2] else None
        year_s = groups[2] or (late.group(1) if late else None)
        if not year_s and month_s.lower() in _COMMON_WORDS:
            return None  # "5 may attend" is not the 5th of May
        year = int(year_s) if year_s else None
        return _day(year, _MONTHS[month_s.lower()], int(day_s), context)
    if pattern is _YEAR_FIRST:
        return _day(int(groups[0]), int(groups[2]), int(groups[3]), context)
    first, second = int(groups[0]), int(groups[2])
    month_first = groups[1] != "." and (second > 12 or (context.month_first and first <= 12))
    month, day = (first, second) if month_first else (second, first)
    return _day(int(groups[3]), month, day, context)


def _relative(match: re.Match[str], context: DateContext) -> datetime:
    raw, unit = match.group(1).lower(), match.group(2).lower()
    count = int(raw) if raw.isdigit() else _WORD_NUMBERS.get(raw, 1)
    seconds = min(count * _UNITS.get(unit, 0), 40 * 31_536_000)
    return context.now() - timedelta(seconds=seconds)


def _day_word(match: re.Match[str], rest: str, context: DateContext) -> datetime:
    now = context.now()
    if match.group(6):
        return now
    back = 2 if match.group(1) else 1 if match.group(2) or match.group(4) else 0
    local = now.astimezone(context.zone or UTC).date()
    return _at(local - timedelta(days=back), rest, context)


_RELATIVE = (_AGO_FR, _AGO_EN, _DAY_WORD)
_PATTERNS = (_DAY_FIRST, _MONTH_FIRST, _YEAR_FIRST, _NUMERIC, _AGO_FR, _AGO_EN, _DAY_WORD)
# Every pattern but the relative ones needs a digit: a text without one (most of the
# bylines and labels the metadata reader hands over) is searched for those only.
_DIGIT = re.compile(r"\d")


def find_date(text: str, context: DateContext) -> datetime | None:
    """The first date a reader would see in ``text``, aware; None when there is none.
    Not checked for plausibility (see ``_dates.plausible``)."""
    patterns = _PATTERNS if _DIGIT.search(text) else _RELATIVE
    matches = [m for m in (p.search(text) for p in patterns) if m is not None]
    # A date written out before one counted back ("November 19, 2019 / Updated 14 hours
    # ago"; "Florida Today Published Nov 20, 2019"), then the earliest in the text, then
    # the longest ("1er décembre 2025" over "1er décembre").
    for match in sorted(
        matches, key=lambda m: (m.re in _RELATIVE, m.start(), -(m.end() - m.start()))
    ):
        rest = text[match.end() : match.end() + _TAIL]
        if match.re in (_AGO_FR, _AGO_EN):
            return _relative(match, context)
        if match.re is _DAY_WORD:
            return _day_word(match, rest, context)
        day = _absolute(match, rest, context)
        if day is not None:
            return _at(day, rest, context, text[max(0, match.start() - _TAIL) : match.start()])
    return None
