"""Flag bodies that alerts should not trust: empty, short, paywalled or blocked pages.

The flag is stored with the article and counted per source, so a source whose pages
have all turned into captcha walls shows up in ``monitor status`` instead of silently
matching nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from monitor.extract._metadata import Metadata

_MIN_WORDS = 60

# Bot walls and captchas served instead of the page (CDN and anti-bot vendors' wording).
_BLOCKED = re.compile(
    r"captcha|are you (?:a )?(?:robot|human)|verify(?:ing)? (?:that )?you are (?:a )?human|"
    r"vérifi\w+ que vous (?:êtes|n'êtes pas)|just a moment\.\.\.|attention required|"
    r"access (?:to this page has been )?denied|pardon our interruption|"
    r"checking your browser|unusual traffic|request unsuccessful|"
    r"enable (?:javascript and )?cookies to continue|ddos protection|bot detection|"
    r"(?:you have been|you've been) blocked|accès refusé",
    re.IGNORECASE,
)
# Subscription walls and teasers, English and French.
_PAYWALL = re.compile(
    r"subscribe (?:now )?to (?:continue|read)|(?:already|déjà) (?:a subscriber|abonné)|"
    r"this (?:article|content|story) is (?:for|reserved for|available to|only available to) "
    r"(?:subscribers|members)|subscriber[- ]only|members[- ]only|"
    r"réservé(?:e)? aux abonnés|abonnez-vous pour (?:lire|continuer)|"
    r"la suite (?:de cet article )?est réservée|pour lire la suite|"
    r"to continue reading|log in to (?:read|continue)|unlock (?:this|the full) (?:article|story)",
    re.IGNORECASE,
)


# Cheap substring checks that every wall message contains one of; the regular
# expressions above only run on pages that pass them.
_BLOCKED_HINTS = (
    "captcha",
    "robot",
    "human",
    "humain",
    "moment",
    "attention",
    "denied",
    "interruption",
    "browser",
    "traffic",
    "unsuccessful",
    "cookies",
    "ddos",
    "bot ",
    "blocked",
    "refusé",
)
_PAYWALL_HINTS = (
    "subscri",
    "abonn",
    "member",
    "continue reading",
    "réservé",
    "lire la suite",
    "log in",
    "unlock",
)
_SCAN_CHARS = 30_000
_TEASER_WORDS = 400
_SHORT_TEASER_WORDS = 150


def _has(text: str, hints: tuple[str, ...], pattern: re.Pattern[str]) -> bool:
    # Scanning a whole page with a long alternation costs a millisecond; a wall message
    # sits around one of its hint words, so only windows around those are searched.
    lowered = text.lower()
    for hint in hints:
        start = lowered.find(hint)
        while start != -1:
            if pattern.search(lowered, max(0, start - 60), start + 80):
                return True
            start = lowered.find(hint, start + len(hint))
    return False


def assess(text: str, metadata: Metadata, page_text: Callable[[], str]) -> str:
    """Return the quality flag for a body ``text``; ``page_text`` gives the page's
    visible text, asked for only when the body is short."""
    # Only counts up to _TEASER_WORDS matter: splitting stops there on long bodies.
    words = len(text.split(None, _TEASER_WORDS))
    if words >= _TEASER_WORDS:
        # A full-length body is readable, whatever the page says about its price (many
        # publishers serve the whole text to crawlers and mark it not free).
        return "ok"
    # The wall's message is usually inside the body found; the rest of the page is
    # read only for teaser-sized bodies (it is the costlier text to produce).
    rest = page_text()[:_SCAN_CHARS] if words < _SHORT_TEASER_WORDS else ""
    if words < 200 and _has(f"{metadata.title or ''}\n{rest[:3000]}", _BLOCKED_HINTS, _BLOCKED):
        return "blocked"
    if (
        # An element merely named "paywall" proves nothing: sites put a subscriber
        # login in every page's header.
        metadata.free is False
        or _has(text[-3000:], _PAYWALL_HINTS, _PAYWALL)
        or _has(rest, _PAYWALL_HINTS, _PAYWALL)
    ):
        return "paywalled"
    if words == 0:
        return "empty"
    return "short" if words < _MIN_WORDS else "ok"
