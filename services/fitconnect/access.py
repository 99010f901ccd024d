"""The FastAPI dependency that checks a FIT-Connect access token on every protected route.

``Depends(access)`` where ``access = bearer_access(tokens)``: the route receives the
:class:`~services.fitconnect.tokens.Access` (client and scopes) or the request is answered
401 (no token, or one Amtsweg did not issue, or expired) with RFC 6750's challenge. No
database is asked: the token carries everything (:mod:`services.fitconnect.tokens`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.fitconnect.problems import unauthorized
from services.fitconnect.tokens import Access, InvalidTokenError, Tokens

fit_connect_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="OAuth2",
    description="An access token of POST /fit-connect/token (client credentials).",
)


def bearer_access(tokens: Callable[[], Tokens]) -> Callable[..., Access]:
    """The dependency; ``tokens`` gives the token service (built on first use)."""

    def access(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(fit_connect_bearer)],
    ) -> Access:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise unauthorized("An access token (Authorization: Bearer …) is required.", None)
        try:
            return tokens().verify(credentials.credentials.strip())
        except InvalidTokenError as error:
            raise unauthorized(f"The access token is not valid: {error}.") from None

    return access
