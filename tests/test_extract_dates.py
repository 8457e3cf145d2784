"""Visible dates in French and English: the forms news pages write, placed in a zone.

The table reads each form the way the metadata reader does (``parse_prose_date``
with the fetch time and the zone); the page tests check that such a date is used
only when the page has no machine-readable one, in the source's ``timezone``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from monitor.extract import extract_article
from monitor.extract._dates import DateContext, parse_prose_date, parse_published_phrase

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
# Fetched on Wednesday 2 December 2026 at 15:00 UTC (16:00 in Paris).
FETCHED = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
FR = DateContext(fetched=FETCHED, zone=PARIS)
EN = DateContext(fetched=FETCHED, zone=UTC)
US = DateContext(fetched=FETCHED, zone=NEW_YORK, month_first=True)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


TABLE = [
    # Numeric, day first.
    ("01/12/2026", FR, paris(2026, 12, 1)),
    ("2026-12-01", FR, paris(2026, 12, 1)),
    ("1.12.2026", FR, paris(2026, 12, 1)),
    ("01-12-2026", FR, paris(2026, 12, 1)),
    ("01/12/26", FR, paris(2026, 12, 1)),
    ("2026/12/01 09:15", FR, paris(2026, 12, 1, 9, 15)),
    ("Publié le 01/12/2026 à 10h32", FR, paris(2026, 12, 1, 10, 32)),
    ("Mis à jour le 30.11.2026 à 8h05", FR, paris(2026, 11, 30, 8, 5)),
    ("le 29/11/2026 - 17:45", FR, paris(2026, 11, 29, 17, 45)),
    # Numeric in American English: month first, unless the day says otherwise.
    ("12/01/2026", US, datetime(2026, 12, 1, tzinfo=NEW_YORK)),
    ("11/29/2026 7:40 PM", US, datetime(2026, 11, 29, 19, 40, tzinfo=NEW_YORK)),
    ("29/11/2026", US, datetime(2026, 11, 29, tzinfo=NEW_YORK)),
    # French, written out.
    ("1er décembre 2025", FR, paris(2025, 12, 1)),
    ("lundi 1er décembre 2025 à 10h32", FR, paris(2025, 12, 1, 10, 32)),
    ("1 déc. 2025", FR, paris(2025, 12, 1)),
    ("Publié le 15 fevrier 2026 à 7 h 30", FR, paris(2026, 2, 15, 7, 30)),
    ("le 3 août 2026 à 18h", FR, paris(2026, 8, 3, 18)),
    ("28 novembre 2026, 23:59", FR, paris(2026, 11, 28, 23, 59)),
    ("le 30 novembre à 9h10", FR, paris(2026, 11, 30, 9, 10)),  # no year: the latest past one
    ("Publié le 5 décembre", FR, paris(2025, 12, 5)),  # not after the fetch: last year's
    # English, written out.
    ("Dec. 1, 2025", EN, utc(2025, 12, 1)),
    ("December 1st, 2025, 10:32 a.m.", EN, utc(2025, 12, 1, 10, 32)),
    ("Monday, December 1, 2025 at 6:05 pm", EN, utc(2025, 12, 1, 18, 5)),
    ("1 December 2025", EN, utc(2025, 12, 1)),
    ("Sept. 30, 2026 12:00 a.m.", EN, utc(2026, 9, 30, 0, 0)),
    ("Updated Nov 22nd 2026", EN, utc(2026, 11, 22)),
    # A zone written out wins over the source's.
    ("Dec. 1, 2025 10:32 a.m. ET", EN, datetime(2025, 12, 1, 10, 32, tzinfo=NEW_YORK)),
    ("1 December 2025 14:00 GMT", FR, utc(2025, 12, 1, 14)),
    (
        "1er décembre 2025 à 10h32 (UTC+1)",
        EN,
        datetime(2025, 12, 1, 10, 32, tzinfo=timezone(timedelta(hours=1))),
    ),
    (
        "01/12/2026 10:32 CET et mis à jour",
        EN,
        datetime(2026, 12, 1, 10, 32, tzinfo=timezone(timedelta(hours=1))),
    ),
    # Relative, against the fetch time.
    ("il y a 3 heures", FR, FETCHED - timedelta(hours=3)),
    ("Il y a 20 min", FR, FETCHED - timedelta(minutes=20)),
    ("il y a 2 jours", FR, FETCHED - timedelta(days=2)),
    ("il y a une heure", FR, FETCHED - timedelta(hours=1)),
    ("Publié il y a 3h", FR, FETCHED - timedelta(hours=3)),
    ("3 hours ago", EN, FETCHED - timedelta(hours=3)),
    ("an hour ago", EN, FETCHED - timedelta(hours=1)),
    ("45 mins ago", EN, FETCHED - timedelta(minutes=45)),
    ("2 days ago", EN, FETCHED - timedelta(days=2)),
    ("hier", FR, paris(2026, 12, 1)),
    ("hier à 18h30", FR, paris(2026, 12, 1, 18, 30)),
    ("Aujourd'hui à 08:15", FR, paris(2026, 12, 2, 8, 15)),
    ("avant-hier", FR, paris(2026, 11, 30)),
    ("yesterday", EN, utc(2026, 12, 1)),
    ("Yesterday at 9:41 PM", EN, utc(2026, 12, 1, 21, 41)),
    ("today, 7:02 a.m.", EN, utc(2026, 12, 2, 7, 2)),
    # Not a date, or not an article's.
    ("Lire aussi : nos 12 conseils", FR, None),
    ("5 may attend the meeting", EN, None),
    ("© 1987 Le Courrier", FR, None),
    ("31/02/2026", FR, None),
    ("1 December 2027", EN, None),  # the future is a template bug
    ("version 3.10.24", EN, None),
]


@pytest.mark.parametrize(("text", "context", "expected"), TABLE, ids=[t[0] for t in TABLE])
def test_visible_date_forms(text: str, context: DateContext, expected: datetime | None) -> None:
    got = parse_prose_date(text, context)
    assert got == expected
    if expected is not None:
        assert got is not None and got.utcoffset() == expected.utcoffset()


def test_the_table_covers_both_languages_and_enough_forms() -> None:
    assert len([row for row in TABLE if row[2] is not None]) >= 30


def test_a_published_phrase_takes_the_date_after_it() -> None:
    text = "Le 2 novembre 2026, la ville annonçait... Publié le 01/12/2026 à 10h32, modifié hier"
    assert parse_published_phrase(text, FR) == paris(2026, 12, 1, 10, 32)


BODY = (
    "<article><p>"
    + "Une phrase du corps de l'article, assez longue pour compter. " * 8
    + "</p></article>"
)


def _page(head: str, dateline: str) -> str:
    body = f'<h1>Titre</h1><p class="date">{dateline}</p>{BODY}'
    return f'<html lang="fr"><head>{head}</head><body>{body}</body></html>'


def test_a_visible_date_is_placed_in_the_source_zone() -> None:
    page = _page("", "Publié le 01/12/2026 à 10h32")
    article = extract_article(page, "https://ex.fr/a", timezone=PARIS, fetched_at=FETCHED)
    assert article.published == paris(2026, 12, 1, 10, 32)
    assert article.published is not None and article.published.utcoffset() == timedelta(hours=1)
    # Without a zone: UTC.
    assert extract_article(page, "https://ex.fr/a").published == utc(2026, 12, 1, 10, 32)


def test_a_relative_date_counts_back_from_the_fetch() -> None:
    page = _page("", "il y a 3 heures")
    article = extract_article(page, "https://ex.fr/a", timezone=PARIS, fetched_at=FETCHED)
    assert article.published == FETCHED - timedelta(hours=3)


def test_a_machine_readable_date_wins_over_the_visible_one() -> None:
    head = '<meta property="article:published_time" content="2026-11-20T06:00:00+01:00">'
    article = extract_article(_page(head, "il y a 3 heures"), "https://ex.fr/a", fetched_at=FETCHED)
    assert article.published == paris(2026, 11, 20, 6)


def test_the_page_zone_from_its_modified_date_places_a_visible_date() -> None:
    head = '<meta property="article:modified_time" content="2026-12-01T12:00:00-05:00">'
    article = extract_article(_page(head, "Publié le 01/12/2026 à 10h32"), "https://ex.fr/a")
    assert article.published == datetime(2026, 12, 1, 10, 32, tzinfo=timezone(timedelta(hours=-5)))


def test_a_source_timezone_must_be_a_known_zone() -> None:
    from monitor.config import InvalidConfig, parse_config

    text = (
        "sources:\n"
        "  - name: a\n    url: https://a.example/rss\n    timezone: Europe/Paris\n"
        "  - name: b\n    url: https://b.example/rss\n    timezone: Mars/Olympus\n"
    )
    with pytest.raises(InvalidConfig) as caught:
        parse_config(text, "sources.yaml")
    message = str(caught.value)
    assert "sources.yaml:7" in message and "timezone" in message
    assert "not a known time zone" in message and "Europe/Paris" in message.split("\n")[0]
    ok = parse_config(text.replace("Mars/Olympus", "America/New_York"), "sources.yaml")
    assert [s.timezone for s in ok.sources] == ["Europe/Paris", "America/New_York"]
