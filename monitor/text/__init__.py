"""Text and URL helpers shared by the stages: byte-order marks and charsets, sites,
redaction, the HTTP header readers fetch and the webhook channel both need, the
search-key queries the rules compile and the store runs, and the cycle collector held
off around the big builds of the config and the rule index."""

from monitor.text._charset import (
    LATIN1_AS_CP1252,
    decode_bom,
    detect_codec,
    lookup_codec,
    strict_decode,
)
from monitor.text._headers import header_value, parse_http_date, parse_retry_after
from monitor.text._heap import collector_paused
from monitor.text._keyquery import EVERYTHING, KeyAll, KeyAny, KeyQuery, KeyTerm, key_all, key_any
from monitor.text._time import ago
from monitor.text._urls import (
    host_of,
    is_loopback,
    on_site,
    redact_url,
    redact_urls,
    site_of,
    split_host_port,
    without_userinfo,
)

__all__ = [
    "EVERYTHING",
    "LATIN1_AS_CP1252",
    "KeyAll",
    "KeyAny",
    "KeyQuery",
    "KeyTerm",
    "ago",
    "collector_paused",
    "decode_bom",
    "detect_codec",
    "header_value",
    "host_of",
    "is_loopback",
    "key_all",
    "key_any",
    "lookup_codec",
    "on_site",
    "parse_http_date",
    "parse_retry_after",
    "redact_url",
    "redact_urls",
    "site_of",
    "split_host_port",
    "strict_decode",
    "without_userinfo",
]
