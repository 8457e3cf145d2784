"""Date strings from pages (ISO 8601, RFC 2822, French and English prose) to aware datetimes.

Pages state dates in every format; the store and ``max_age`` need one comparable
instant. Machine-readable dates (JSON-LD, meta tags, ``<time datetime>``) are parsed
here; dates a reader sees (« Publié le 01/12/2026 à 10h32 », "Dec. 1, 2025",
« il y a 3 heures ») are found by ``_visible``. A date without an offset is placed in
the zone the caller knows (``DateContext.zone``: the source's ``timezone:``, else a
zone the page shows elsewhere), else UTC: off by hours at most.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime

from monitor.extract._visible import DateContext, find_date

_ISO_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}")
_COMPACT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")
_EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)
_DEFAULT = DateContext()

__all__ = [
    "DateContext",
    "parse_date",
    "parse_prose_date",
    "parse_published_phrase",
    "plausible",
]


def _aware(value: datetime, zone: tzinfo | None) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=zone or UTC)


def plausible(value: datetime | None, context: DateContext = _DEFAULT) -> datetime | None:
    """``value`` made aware, or None when it cannot be an article's date."""
    # Pages carry copyright years, birthdays and far-future event dates; an article's own
    # date lies between the web's early years and a day after it was fetched.
    if value is None:
        return None
    value = _aware(value, context.zone)
    if value < _EARLIEST or value > context.now() + timedelta(days=1):
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


def parse_prose_date(text: str, context: DateContext = _DEFAULT) -> datetime | None:
    """Find the first French or English date a reader would see in ``text``."""
    return plausible(find_date(text, context), context)


# The lookahead names the words' first letters: re then skips the positions that
# hold none of them, where a leading \b made it try the alternation at each one
# (milliseconds on a page's first 5,000 characters).
_PUBLISHED_PHRASE = re.compile(
    r"(?=[pmf])\b(?:publié|publiée|mis en ligne|mise en ligne|paru|parue|published|posted|"
    r"first published)\b",
    re.IGNORECASE,
)


def parse_published_phrase(text: str, context: DateContext = _DEFAULT) -> datetime | None:
    """Find a date written after "Publié le", "Published on" and the like in ``text``."""
    for match in _PUBLISHED_PHRASE.finditer(text):
        found = parse_prose_date(text[match.end() : match.end() + 80], context)
        if found is not None:
            return found
    return None


def parse_date(text: str | None, context: DateContext = _DEFAULT) -> datetime | None:
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
    if value is not None:
        return plausible(value, context)
    return parse_prose_date(text, context)
