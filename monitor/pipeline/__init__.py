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
from monitor.pipeline._channels import next_digests, send_digest, test_channel
from monitor.pipeline._dryrun import DryRun, Verdict
from monitor.pipeline._filters import alert_applies, rejection
from monitor.pipeline._listing import Candidate, Listing, fetch_candidates
from monitor.pipeline._poll import MAX_NEW_PER_POLL, PollResult, poll_source
from monitor.pipeline._preview import extract_target, preview_source
from monitor.pipeline._replay import AlertReplay, Replayed, ReplayedStory, find_alert, replay_alert
from monitor.pipeline._rules import Rules
from monitor.pipeline._rulesync import RuleSync, alert_of, rule_specs, sync_config, sync_rules
from monitor.pipeline._runtime import Runtime, started_pages, utcnow
from monitor.pipeline._search import count_candidates, match_stored, scan_stored, stored_document
from monitor.pipeline._stories import (
    STORY_WINDOW,
    BandStories,
    StoryTracker,
    prune_archive,
    stories_for,
)

__all__ = [
    "MAX_BACKOFF",
    "MAX_HINT",
    "MAX_NEW_PER_POLL",
    "STORY_WINDOW",
    "AlertReplay",
    "BandStories",
    "Candidate",
    "DryRun",
    "Listing",
    "PollResult",
    "Prepared",
    "Replayed",
    "ReplayedStory",
    "RuleSync",
    "Rules",
    "Runtime",
    "StoryTracker",
    "Verdict",
    "adaptive_interval",
    "alert_applies",
    "alert_of",
    "count_candidates",
    "extract_target",
    "fetch_candidates",
    "find_alert",
    "match_stored",
    "next_digests",
    "next_failure",
    "next_success",
    "poll_source",
    "prepare",
    "preview_source",
    "prune_archive",
    "rejection",
    "replay_alert",
    "rule_specs",
    "scan_stored",
    "send_digest",
    "started_pages",
    "stored_document",
    "stories_for",
    "sync_config",
    "sync_rules",
    "test_channel",
    "utcnow",
]
