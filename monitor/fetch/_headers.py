"""Pure readers of response headers: the cache lifetime the scheduler uses as a lower
bound on a source's interval, the Content-Type's media type and charset, and Retry-After
(shared with the webhook channel, so kept in ``monitor.text`` and re-exported here).

Servers write these headers in every form the RFCs ever allowed (and some they did
not), so each reader returns ``None`` rather than raising on what it cannot read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

# _client and the package face import parse_retry_after from here, with the rest.
from monitor.text import header_value, parse_http_date, parse_retry_after

__all__ = ["cache_lifetime", "parse_content_type", "parse_retry_after"]


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
    control = header_value(headers, "cache-control")
    if control:
        directives = _cache_directives(control)
        if "no-store" in directives or "no-cache" in directives:
            return 0.0
        max_age = directives.get("max-age")
        if max_age is not None and max_age.isdigit():
            age = header_value(headers, "age") or "0"
            spent = int(age) if age.strip().isdigit() else 0
            return float(max(0, int(max_age) - spent))
    expires = header_value(headers, "expires")
    if expires is None:
        return None
    expiry = parse_http_date(expires)
    if expiry is None:
        return 0.0
    date_header = header_value(headers, "date")
    origin_now = parse_http_date(date_header) if date_header else None
    # Measured against the server's own Date so a skewed local clock does not matter.
    return max(0.0, (expiry - (origin_now or datetime.now(UTC))).total_seconds())


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
