"""Portal authentication: bearer tokens, stored only as SHA-256, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from services.intake.errors import ProblemError


def token_hash(token: str) -> str:
    """The SHA-256 (hex) under which a token is configured."""
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(authorization: str | None, portal_tokens: Mapping[str, str]) -> str:
    """The portal id for an ``Authorization: Bearer …`` header; a 401 problem otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("A bearer token is required.", 'Bearer realm="amtsweg"')
    presented = token_hash(token.strip())
    match: str | None = None
    for portal_id, expected in portal_tokens.items():  # no early exit: constant time
        if hmac.compare_digest(presented, expected.lower()):
            match = portal_id
    if match is None:
        raise _unauthorized(
            "The bearer token is not valid.", 'Bearer realm="amtsweg", error="invalid_token"'
        )
    return match


def _unauthorized(detail: str, challenge: str) -> ProblemError:
    """A 401 problem; RFC 9110 requires the ``WWW-Authenticate`` challenge with it."""
    return ProblemError.single(
        401, "unauthorized", "Unauthorized", detail, {"WWW-Authenticate": challenge}
    )
