"""Date strings from pages (ISO 8601, RFC 2822, French and English prose) to aware datetimes.

Pages state dates in every format; the store and ``max_age`` need one comparable
instant. A date without an offset is taken as UTC: a page that does not say its zone
cannot be placed more precisely, and UTC is off by hours at most.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

_MONTHS = {
    # English
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11,
    "nov": 11, "december": 12, "dec": 12,
    # French (accents optional: pages and feeds drop them)
    "janvier": 1, "janv": 1, "février": 2, "fevrier": 2, "févr": 2, "fevr": 2, "fév": 2,
    "mars": 3, "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7,
    "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12,
    "decembre": 12, "déc": 12,
}  # fmt: skip
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_TIME = r"(?:\D{1,6}?(\d{1,2})\s*[:hH]\s*(\d{2})(?:\s*([ap])\.?m\.?)?)?"
# "19 November 2019", "le 19 nov. 2019 à 14h30", "1er mars 2024"
_DAY_FIRST = re.compile(
    rf"\b(\d{{1,2}})(?:er|st|nd|rd|th)?\s+({_MONTH})\.?,?\s+(\d{{4}}){_TIME}", re.IGNORECASE
)
# "November 19, 2019", "Nov. 19, 2019 at 3:45 p.m."
_MONTH_FIRST = re.compile(
    rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}}){_TIME}", re.IGNORECASE
)
_ISO_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}")
_COMPACT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")
_EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _plausible(value: datetime | None) -> datetime | None:
    # Pages carry copyright years, birthdays and far-future event dates; an article's own
    # date lies between the web's early years and a day from now.
    if value is None:
        return None
    value = _aware(value)
    if value < _EARLIEST or value > datetime.now(UTC) + timedelta(days=1):
        return None
    return value


def _iso(text: str) -> datetime | None:
    cleaned = text.strip().replace(" ", "T", 1) if "T" not in text else text.strip()
    cleaned = _COMPACT_OFFSET.sub(r"\1:\2", cleaned)
    try:
        return datetime.fromisoformat(cleaned)
    except ValueError:
        pass
    match = _ISO_LIKE.match(text.strip())
    if match:
        try:
            return datetime.fromisoformat(match.group(0))
        except ValueError:
            return None
    return None


def _from_match(match: re.Match[str], day: str, month: str) -> datetime | None:
    groups = match.groups()
    hour, minute, meridiem = groups[3], groups[4], groups[5]
    try:
        value = datetime(int(groups[2]), _MONTHS[month.lower()], int(day))
        if hour is not None and minute is not None:
            h = int(hour) % 12 + (12 if meridiem and meridiem.lower() == "p" else 0)
            h = h if meridiem else int(hour)
            value = value.replace(hour=h, minute=int(minute))
    except (ValueError, KeyError):
        return None
    return value


def parse_prose_date(text: str) -> datetime | None:
    """Find the first French or English date written out in ``text``."""
    found: list[tuple[int, datetime]] = []
    first = _DAY_FIRST.search(text)
    if first:
        value = _from_match(first, first.group(1), first.group(2))
        if value is not None:
            found.append((first.start(), value))
    second = _MONTH_FIRST.search(text)
    if second:
        value = _from_match(second, second.group(2), second.group(1))
        if value is not None:
            found.append((second.start(), value))
    return _plausible(min(found)[1]) if found else None


_PUBLISHED_PHRASE = re.compile(
    r"\b(?:publié|publiée|mis en ligne|paru|published|posted|first published)\b", re.IGNORECASE
)


def parse_published_phrase(text: str) -> datetime | None:
    """Find a date written after "Publié le", "Published on" and the like in ``text``."""
    for match in _PUBLISHED_PHRASE.finditer(text):
        found = parse_prose_date(text[match.end() : match.end() + 80])
        if found is not None:
            return found
    return None


def parse_date(text: str | None) -> datetime | None:
    """Parse a machine-readable or prose date; None when nothing plausible is found."""
    if not text:
        return None
    text = text.strip()
    if not text:
        return None
    value = _iso(text)
    if value is None and re.search(r"[A-Za-z]{3},?\s+\d", text):
        try:
            value = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            value = None
    if value is None and text.isdigit() and len(text) in (10, 13):
        # Unix timestamps in seconds or milliseconds (some CMS meta tags use them).
        value = datetime.fromtimestamp(int(text[:10]), UTC)
    return _plausible(value) if value is not None else parse_prose_date(text)
