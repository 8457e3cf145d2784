"""HTTP header readers shared by the two sides that speak HTTP: fetch and the webhook channel.

Servers write these headers in every form the RFCs ever allowed (and some they did
not), so each reader returns ``None`` rather than raising on what it cannot read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Delta-seconds. RFC 9110 allows only digits; a fraction is read too, as a server that
# sends "1.5" plainly means a second and a half.
_SECONDS = re.compile(r"\d+(?:\.\d+)?")


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name`` (given in lower case), whatever case ``headers`` use."""
    # Callers pass lower-cased headers (fetch results), httpx.Headers, or a plain dict
    # from a web framework or written by hand: the direct lookup serves the first two,
    # the scan the last.
    value = headers.get(name)
    if value is not None:
        return value
    for key, item in headers.items():
        if key.lower() == name:
            return item
    return None


def parse_http_date(value: str) -> datetime | None:
    """An aware UTC datetime from an HTTP date (IMF-fixdate, RFC 850 or asctime)."""
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:  # asctime carries no zone; HTTP dates are always GMT
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP date.

    A date in the past means "now" (0.0); an absent value (None, "") or an unreadable
    one is ``None``. ``now`` is when the answer came (a naive datetime is UTC), by
    default the current time.
    """
    if not value:
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return float(text)
    when = parse_http_date(text)
    if when is None:
        return None
    return max(0.0, (when - _utc(now)).total_seconds())
