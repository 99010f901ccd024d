"""Signing callbacks, as FIT-Connect does it (docs.fitko.de, "Verwendung von Callbacks").

A callback POST carries two headers:

- ``callback-timestamp``: Unix time in seconds when it was sent;
- ``callback-authentication``: hex HMAC-SHA512 (RFC 2104) with the authority's callback
  secret over ``<timestamp>.<body>`` (UTF-8, the raw body bytes as sent).

A receiver recomputes the HMAC, compares in constant time, and refuses a timestamp older
than five minutes (replay protection); it answers ``2xx`` when it took the notice.
"""

from __future__ import annotations

import hashlib
import hmac

AUTHENTICATION_HEADER = "callback-authentication"
TIMESTAMP_HEADER = "callback-timestamp"
MAX_AGE_SECONDS = 300


def callback_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``callback-authentication`` value for ``body`` sent at ``timestamp``."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha512).hexdigest()


def callback_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Both callback headers for ``body``."""
    return {
        TIMESTAMP_HEADER: str(timestamp),
        AUTHENTICATION_HEADER: callback_signature(secret, timestamp, body),
    }


def verify_callback(
    secret: str, timestamp: str | None, authentication: str | None, body: bytes, now: float
) -> bool:
    """True if the headers authenticate ``body`` and the timestamp is fresh (receiver side)."""
    if not timestamp or not authentication or not timestamp.isdigit():
        return False
    sent = int(timestamp)
    if now - sent > MAX_AGE_SECONDS or sent - now > MAX_AGE_SECONDS:
        return False
    expected = callback_signature(secret, sent, body)
    return hmac.compare_digest(expected, authentication.strip().lower())
