"""Observing the daemon: structured logs, Prometheus metrics, the health/metrics server."""

from monitor.observe._heap import settle_heap
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
from monitor.observe._log import (
    JsonFormatter,
    KeyValueFormatter,
    Redactor,
    event,
    hold_secrets,
    redact,
    setup_logging,
)
from monitor.observe._metrics import Metrics

__all__ = [
    "Handler",
    "HealthCheck",
    "JsonFormatter",
    "KeyValueFormatter",
    "Metrics",
    "Redactor",
    "Request",
    "Response",
    "event",
    "hold_secrets",
    "observe_routes",
    "parse_listen",
    "redact",
    "serve",
    "settle_heap",
    "setup_logging",
    "text_response",
]
