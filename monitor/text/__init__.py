"""Text and URL helpers shared by the stages: byte-order marks and charsets, sites,
redaction, and the HTTP header readers fetch and the webhook channel both need."""

from monitor.text._charset import (
    LATIN1_AS_CP1252,
    decode_bom,
    detect_codec,
    lookup_codec,
    strict_decode,
)
from monitor.text._headers import header_value, parse_http_date, parse_retry_after
from monitor.text._time import ago
from monitor.text._urls import host_of, on_site, redact_url, site_of

__all__ = [
    "LATIN1_AS_CP1252",
    "ago",
    "decode_bom",
    "detect_codec",
    "header_value",
    "host_of",
    "lookup_codec",
    "on_site",
    "parse_http_date",
    "parse_retry_after",
    "redact_url",
    "site_of",
    "strict_decode",
]
