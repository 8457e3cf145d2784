"""Observing the daemon: structured logs, Prometheus metrics, the health/metrics server."""

from monitor.observe._http import (
    Handler,
    HealthCheck,
    Request,
    Response,
    observe_routes,
    parse_listen,
    serve,
    text_response,
)
from monitor.observe._log import JsonFormatter, KeyValueFormatter, event, setup_logging
from monitor.observe._metrics import Metrics

__all__ = [
    "Handler",
    "HealthCheck",
    "JsonFormatter",
    "KeyValueFormatter",
    "Metrics",
    "Request",
    "Response",
    "event",
    "observe_routes",
    "parse_listen",
    "serve",
    "setup_logging",
    "text_response",
]
