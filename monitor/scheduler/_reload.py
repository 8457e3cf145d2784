"""What a reload reads: the file's stamp, and the running set a new sources.yaml makes."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.alerts import Notifier, build_notifiers
from monitor.config import Config, load_config
from monitor.fetch import Fetcher
from monitor.observe import event
from monitor.pipeline import Rules
from monitor.text import redact_url

if TYPE_CHECKING:  # the vocabulary is only passed through, from the rules to the rules
    from monitor.rules import Vocabulary

log = logging.getLogger("monitor.scheduler")


def file_stamp(path: Path) -> tuple[float, int] | None:
    """The file's modification time and size (None when it cannot be read): a change
    in either is a save worth a reload."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime, st.st_size


async def load_running_set(
    path: Path, running: Config, vocabulary: Vocabulary, fetcher: Fetcher
) -> tuple[Config, Rules, dict[str, Notifier]]:
    """The config at ``path`` with its rules and notifiers, all built before anything is
    swapped: a part that fails (a query, a channel) raises and leaves the running set
    whole. The database is the running one: another takes a restart."""
    config = await asyncio.to_thread(load_config, path)
    if config.database != running.database:
        event(log, "database changed: restart to use it", logging.WARNING)
        config = config.model_copy(update={"database": running.database})
    rules = Rules.from_config(config, vocabulary)
    return config, rules, build_notifiers(config, fetcher.post)


def log_schedule(config: Config) -> None:
    """A line per enabled source (its interval and kind), then one for the whole."""
    for s in config.sources:
        if s.enabled:
            event(
                log, "scheduled", source=s.name, url=redact_url(s.url),
                every=f"{int(s.interval.total_seconds())}s", kind=s.kind,
            )  # fmt: skip
    event(log, "running", sources=len(config.sources), alerts=len(config.alerts))
