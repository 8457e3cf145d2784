"""Standard Webhooks signatures: how a receiver knows a webhook came from this daemon.

The signed content is ``"{webhook-id}.{webhook-timestamp}.{body}"``, signed with
HMAC-SHA256 and sent as ``v1,<base64>``. Several secrets give several space-separated
signatures, so a receiver can rotate its key without dropping a single alert.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence

from monitor.errors import ConfigError
from monitor.text import header_value

_PREFIX = "whsec_"


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret: ``whsec_<base64>`` decodes, anything else is its UTF-8."""
    if not secret:
        raise ConfigError("a webhook secret must not be empty")
    if not secret.startswith(_PREFIX):
        return secret.encode("utf-8")
    try:
        key = base64.b64decode(secret[len(_PREFIX) :], validate=True)
    except binascii.Error:
        # Never echo the secret itself: error messages end up in logs and status tables.
        raise ConfigError("a webhook secret starting with whsec_ must be base64") from None
    if not key:
        raise ConfigError("a webhook secret starting with whsec_ must not be empty")
    return key


def _sign_key(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def sign_webhook(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of one webhook with one secret."""
    return _sign_key(secret_key(secret), msg_id, timestamp, body)


def signature_header(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per secret, space-separated."""
    return signature_header_keys([secret_key(s) for s in secrets], msg_id, timestamp, body)


def signature_header_keys(keys: Sequence[bytes], msg_id: str, timestamp: int, body: bytes) -> str:
    """``signature_header`` with the secrets already decoded (a notifier decodes once)."""
    return " ".join(_sign_key(k, msg_id, timestamp, body) for k in keys)


def verify_webhook(
    secrets: Sequence[str], headers: Mapping[str, str], body: bytes, tolerance: float = 300
) -> bool:
    """Whether ``body`` with ``headers`` carries a valid signature by any of ``secrets``.

    A timestamp more than ``tolerance`` seconds from now (either way) fails, so a captured
    request cannot be replayed later.
    """
    msg_id = header_value(headers, "webhook-id")
    stamp = header_value(headers, "webhook-timestamp")
    signatures = header_value(headers, "webhook-signature")
    if not msg_id or not stamp or not signatures:
        return False
    try:
        timestamp = int(stamp)
    except ValueError:
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    offered = [s for s in signatures.split() if s.startswith("v1,")]
    for secret in secrets:
        try:
            expected = _sign_key(secret_key(secret), msg_id, timestamp, body)
        except ConfigError:
            continue
        # compare_digest on every candidate keeps the timing independent of the content.
        if any(hmac.compare_digest(expected.encode(), s.encode()) for s in offered):
            return True
    return False
