"""The pure header readers: Retry-After, the cache lifetime the scheduler uses as a
lower bound, and Content-Type."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.fetch import cache_lifetime, parse_retry_after
from monitor.fetch._headers import parse_content_type

NOW = datetime(2026, 3, 4, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("1.5", 1.5),
        ("Wed, 04 Mar 2026 10:02:00 GMT", 120.0),  # IMF-fixdate
        ("Wednesday, 04-Mar-26 10:02:00 GMT", 120.0),  # RFC 850
        ("Wed Mar  4 10:02:00 2026", 120.0),  # asctime
        ("Wed, 04 Mar 2026 09:00:00 GMT", 0.0),  # already past
        ("-5", None),
        ("soon", None),
        ("", None),
    ],
)
def test_parse_retry_after(value: str, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


def test_parse_retry_after_reads_a_naive_now_as_utc() -> None:
    naive = NOW.replace(tzinfo=None)
    assert parse_retry_after("Wed, 04 Mar 2026 10:00:30 GMT", now=naive) == 30.0


def test_parse_retry_after_defaults_to_the_current_time() -> None:
    future = datetime.now(UTC).timestamp() + 600
    value = datetime.fromtimestamp(future, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after(value) == pytest.approx(600, abs=2)


DATE = "Wed, 04 Mar 2026 10:00:00 GMT"


@pytest.mark.parametrize(
    ("headers", "lifetime"),
    [
        ({}, None),
        ({"cache-control": "max-age=600"}, 600.0),
        ({"Cache-Control": "public, max-age=300, must-revalidate"}, 300.0),
        ({"cache-control": 'max-age="60"'}, 60.0),
        ({"cache-control": "max-age=600", "age": "100"}, 500.0),
        ({"cache-control": "max-age=60", "age": "100"}, 0.0),
        ({"cache-control": "no-store"}, 0.0),
        ({"cache-control": "no-cache, max-age=600"}, 0.0),
        ({"cache-control": "max-age=0"}, 0.0),
        ({"cache-control": "private"}, None),
        ({"cache-control": "max-age=ten"}, None),
        ({"expires": "Wed, 04 Mar 2026 11:00:00 GMT", "date": DATE}, 3600.0),
        ({"Expires": "Wed, 04 Mar 2026 09:00:00 GMT", "Date": DATE}, 0.0),
        ({"expires": "0", "date": DATE}, 0.0),
        ({"expires": "-1"}, 0.0),
        (
            {
                "cache-control": "max-age=60",
                "expires": "Wed, 04 Mar 2026 11:00:00 GMT",
                "date": DATE,
            },
            60.0,
        ),
    ],
)
def test_cache_lifetime(headers: dict[str, str], lifetime: float | None) -> None:
    assert cache_lifetime(headers) == lifetime


def test_cache_lifetime_expires_without_date_uses_the_clock() -> None:
    in_an_hour = datetime.fromtimestamp(datetime.now(UTC).timestamp() + 3600, UTC)
    expires = in_an_hour.strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert cache_lifetime({"expires": expires}) == pytest.approx(3600, abs=2)


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        (None, (None, None)),
        ("", (None, None)),
        ("text/html", ("text/html", None)),
        ("text/html; charset=UTF-8", ("text/html", "utf-8")),
        ('application/rss+xml;charset="ISO-8859-1"', ("application/rss+xml", "iso-8859-1")),
        ("Text/XML; Charset='windows-1252'; q=1", ("text/xml", "windows-1252")),
        ("text/plain; charset=", ("text/plain", None)),
    ],
)
def test_parse_content_type(value: str | None, parsed: tuple[str | None, str | None]) -> None:
    assert parse_content_type(value) == parsed
