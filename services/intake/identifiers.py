"""The identifiers a portal chooses: idempotency key and correlation id.

Both are stored (the correlation id in ``Received`` and in every log line of the
submission; the idempotency key decides the submission id), so each is bounded and
plain: printable ASCII, no control characters that could forge a log line, checked in
time linear in its length.
"""

from __future__ import annotations

import uuid

from services.intake.errors import malformed

MAX_IDEMPOTENCY_KEY = 255
MAX_CORRELATION_ID = 128


def idempotency_key(value: str | None, *, name: str = "Idempotency-Key") -> str | None:
    """The portal's idempotency key as given (None: none given); a 400 problem if unfit."""
    if value is None:
        return None
    return _plain(value, name, MAX_IDEMPOTENCY_KEY)


def correlation_id(value: str | None, *, name: str = "X-Correlation-Id") -> str:
    """The portal's correlation id, or a new one when none was given; 400 if unfit."""
    if value is None or value == "":
        return str(uuid.uuid4())
    return _plain(value, name, MAX_CORRELATION_ID)


def _plain(value: str, name: str, limit: int) -> str:
    if not 0 < len(value) <= limit:
        raise malformed(f"{name} must have 1 to {limit} characters")
    if not (value.isascii() and value.isprintable()):
        raise malformed(f"{name} must be printable ASCII (no control characters)")
    return value
