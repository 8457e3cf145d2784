"""The cluster engine: ``monitor worker`` processes running Procrastinate jobs on the
shared PostgreSQL (dispatch by host partition, polls, one sender per channel, stalled-job
recovery, retention). See docs/scaling.md."""

from monitor.worker._run import QUEUES, build_app, run_worker
from monitor.worker._state import WorkerState

__all__ = ["QUEUES", "WorkerState", "build_app", "run_worker"]
