"""Authority authentication: bearer tokens, configured as SHA-256, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


def token_hash(token: str) -> str:
    """The SHA-256 (hex) under which a token is configured."""
    return hashlib.sha256(token.encode()).hexdigest()


def authority_for(authorization: str | None, authority_tokens: Mapping[str, str]) -> str | None:
    """The authority id an ``Authorization: Bearer …`` header proves, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    presented = token_hash(token.strip())
    match: str | None = None
    for authority_id, expected in authority_tokens.items():  # no early exit: constant time
        if hmac.compare_digest(presented, expected.lower()):
            match = authority_id
    return match
