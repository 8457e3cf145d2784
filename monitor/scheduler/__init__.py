"""The daemon: APScheduler 3.x wiring, ``--once``, signals and reload.

One dispatch job leases due sources and polls them under a concurrency limit; one
delivery job drains the outbox. SIGTERM/SIGINT stop dispatching, let in-flight work
finish for a grace period, hand back the rest and exit 0; SIGHUP reloads sources.yaml,
keeping the running config when the new one is invalid.

``_daemon`` runs it, ``_delivery`` is one delivery round and ``--once``'s drain,
``_reload`` builds a new running set from the file, ``_report`` is what ``--once``
says, ``_owners`` tells a dead daemon's leases from a live one's.
"""

from monitor.scheduler._daemon import Daemon
from monitor.scheduler._owners import config_secrets, owner_is_dead
from monitor.scheduler._report import OnceReport

__all__ = ["Daemon", "OnceReport", "config_secrets", "owner_is_dead"]
