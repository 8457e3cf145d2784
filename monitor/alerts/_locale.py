"""The words and dates of a message in French or English, for the bundled templates.

Kept by hand rather than with Babel or gettext: two languages, a dozen labels and one
date format do not justify a catalogue toolchain, and the month names are all a date
needs here (``strftime`` would follow the process locale, not the channel's).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

Locale = Literal["fr", "en"]
LOCALES: tuple[Locale, ...] = ("fr", "en")

LABELS: dict[Locale, dict[str, str]] = {
    "en": {
        "alert_matched": 'Alert "{alert}" matched: {matched}',
        "alert_html_intro": "Alert",
        "matched": "matched",
        "matched_label": "Matched:",
        "query": "Query",
        "query_label": "Query:",
        "also_reported_by": "Also reported by:",
        "also_alerts": "also matched by:",
        "date_unknown": "date unknown",
        "story_one": "[{name}] {count} new story",
        "story_many": "[{name}] {count} new stories",
    },
    "fr": {
        "alert_matched": "Alerte « {alert} » : {matched}",
        "alert_html_intro": "Alerte",
        "matched": "termes trouvés",
        "matched_label": "Termes trouvés :",
        "query": "Requête",
        "query_label": "Requête :",
        "also_reported_by": "Également publié par :",
        "also_alerts": "aussi trouvé par :",
        "date_unknown": "date inconnue",
        "story_one": "[{name}] {count} nouveau sujet",
        "story_many": "[{name}] {count} nouveaux sujets",
    },
}

_MONTHS: dict[Locale, tuple[str, ...]] = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
}  # fmt: skip


def pick_locale(configured: str | None, language: str | None) -> Locale:
    """The channel's locale if set, else the article's language when it is one we
    have, else English."""
    for candidate in (configured, (language or "").split("-")[0].lower()):
        if candidate == "fr":
            return "fr"
        if candidate == "en":
            return "en"
    return "en"


def format_date(value: datetime | None, locale: Locale, zone: ZoneInfo) -> str:
    """``14 March 2025, 10:30 CET`` / ``14 mars 2025, 10:30 CET`` in ``zone``."""
    if value is None:
        return LABELS[locale]["date_unknown"]
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # the store keeps UTC; old rows are naive
    local = value.astimezone(zone)
    month = _MONTHS[locale][local.month - 1]
    return f"{local.day} {month} {local.year}, {local:%H:%M} {local.tzname()}"


def story_count(locale: Locale, name: str, count: int) -> str:
    """A digest's headline: ``[name] 3 new stories`` / ``[name] 3 nouveaux sujets``."""
    key = "story_one" if count == 1 else "story_many"
    return LABELS[locale][key].format(name=name, count=count)
