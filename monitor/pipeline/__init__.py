"""The flow of one poll: ``poll_source`` takes a leased source through every stage.

fetch → parse feed / listing page (``_listing``) → skip what the store has → fetch,
extract and match new articles (``_article``) → store article + story + outbox rows in
one transaction → record the poll (``_cadence`` decides the next one; ``_health`` sends
failing/recovered notices). Dependencies arrive in a :class:`Runtime`.
"""

from monitor.pipeline._article import Prepared, prepare
from monitor.pipeline._cadence import (
    MAX_BACKOFF,
    MAX_HINT,
    adaptive_interval,
    next_failure,
    next_success,
)
from monitor.pipeline._listing import Candidate, Listing, fetch_candidates
from monitor.pipeline._poll import MAX_NEW_PER_POLL, PollResult, poll_source
from monitor.pipeline._preview import PrepareOne, extract_target, preview_source
from monitor.pipeline._runtime import Rules, Runtime, utcnow
from monitor.pipeline._search import count_candidates, match_stored, scan_stored
from monitor.pipeline._stories import STORY_WINDOW, StoryTracker

__all__ = [
    "MAX_BACKOFF",
    "MAX_HINT",
    "MAX_NEW_PER_POLL",
    "STORY_WINDOW",
    "Candidate",
    "Listing",
    "PollResult",
    "PrepareOne",
    "Prepared",
    "Rules",
    "Runtime",
    "StoryTracker",
    "adaptive_interval",
    "count_candidates",
    "extract_target",
    "fetch_candidates",
    "match_stored",
    "next_failure",
    "next_success",
    "poll_source",
    "prepare",
    "preview_source",
    "scan_stored",
    "utcnow",
]
