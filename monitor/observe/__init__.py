"""Observing the daemon: structured logs, Prometheus metrics, the health/metrics server."""

from monitor.observe._http import HealthCheck, parse_listen, serve
from monitor.observe._log import JsonFormatter, KeyValueFormatter, event, setup_logging
from monitor.observe._metrics import Metrics

__all__ = [
    "HealthCheck",
    "JsonFormatter",
    "KeyValueFormatter",
    "Metrics",
    "event",
    "parse_listen",
    "serve",
    "setup_logging",
]
