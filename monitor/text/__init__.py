"""Text and URL helpers shared by the stages: byte-order marks and charsets, sites, redaction,
and the search-key queries the rules compile and the store runs."""

from monitor.text._charset import decode_bom
from monitor.text._keyquery import EVERYTHING, KeyAll, KeyAny, KeyQuery, KeyTerm, key_all, key_any
from monitor.text._urls import redact_url

__all__ = [
    "EVERYTHING",
    "KeyAll",
    "KeyAny",
    "KeyQuery",
    "KeyTerm",
    "decode_bom",
    "key_all",
    "key_any",
    "redact_url",
]
