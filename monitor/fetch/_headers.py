"""Pure readers of response headers: Retry-After, the cache lifetime the scheduler uses
as a lower bound on a source's interval, and the Content-Type's media type and charset.

Servers write these headers in every form the RFCs ever allowed (and some they did
not), so each reader returns ``None`` rather than raising on what it cannot read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_SECONDS = re.compile(r"\d+(?:\.\d+)?")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # Callers pass our lower-cased result headers, httpx.Headers or a plain dict
    # written by hand; accept all three.
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


def parse_retry_after(value: str, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP date.

    A date in the past means "now" (0.0); anything unreadable is ``None``.
    """
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return float(text)
    when = parse_http_date(text)
    if when is None:
        return None
    return max(0.0, (when - _utc(now)).total_seconds())


def _cache_directives(value: str) -> dict[str, str]:
    directives: dict[str, str] = {}
    for part in value.split(","):
        name, _, argument = part.strip().partition("=")
        if name:
            directives[name.strip().lower()] = argument.strip().strip('"')
    return directives


def cache_lifetime(headers: Mapping[str, str]) -> float | None:
    """Seconds the response stays fresh, from Cache-Control max-age or Expires.

    ``None`` when the server gave no hint; 0.0 when it said not to cache (no-store,
    no-cache, max-age=0, an Expires in the past or an invalid one, which RFC 9111
    says to read as already expired). max-age wins over Expires, as in RFC 9111.
    """
    control = _header(headers, "cache-control")
    if control:
        directives = _cache_directives(control)
        if "no-store" in directives or "no-cache" in directives:
            return 0.0
        max_age = directives.get("max-age")
        if max_age is not None and max_age.isdigit():
            age = _header(headers, "age") or "0"
            spent = int(age) if age.strip().isdigit() else 0
            return float(max(0, int(max_age) - spent))
    expires = _header(headers, "expires")
    if expires is None:
        return None
    expiry = parse_http_date(expires)
    if expiry is None:
        return 0.0
    date_header = _header(headers, "date")
    origin_now = parse_http_date(date_header) if date_header else None
    # Measured against the server's own Date so a skewed local clock does not matter.
    return max(0.0, (expiry - (origin_now or _utc(None))).total_seconds())


def parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """(media type, charset) from a Content-Type header, both lower-cased."""
    if not value:
        return None, None
    media, *params = value.split(";")
    charset = None
    for param in params:
        name, _, argument = param.partition("=")
        if name.strip().lower() == "charset":
            charset = argument.strip().strip("\"'").lower() or None
    return media.strip().lower() or None, charset
