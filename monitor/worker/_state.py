"""What the tasks of one worker process share: its config, store, runtime, notifiers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from monitor.alerts import Notifier, Schedule
from monitor.config import Config
from monitor.pipeline import Runtime, utcnow
from monitor.store import Store


@dataclass
class WorkerState:
    config: Config
    store: Store
    rt: Runtime
    notifiers: dict[str, Notifier]
    schedules: dict[str, Schedule]
    # Host partitions: a poll job polls the sources whose host_key % partitions is its
    # own. More partitions spread hosts over more jobs; every worker uses the number
    # the dispatch job wrote into each poll job, so workers need not agree on it.
    partitions: int = 64
    clock: Callable[[], datetime] = utcnow
    poll_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(8))
