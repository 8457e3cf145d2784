"""Text and URL helpers shared by the stages: byte-order marks and charsets, sites, redaction."""

from monitor.text._charset import decode_bom
from monitor.text._urls import redact_url

__all__ = ["decode_bom", "redact_url"]
