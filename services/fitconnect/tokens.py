"""FIT-Connect access tokens: JWTs signed by Amtsweg (ES256), checked without a database.

A token says who the client is and what it may do: ``sub`` the client id, ``client_kind``
``sender`` or ``subscriber``, ``scope`` the granted scopes (RFC 9068's claims, ``typ``
``at+jwt``). Issuing costs one signature, checking one signature verification and a few
comparisons, so clients that fetch a token before every request (as FIT-Connect's do)
cost little. Tokens are short-lived (``AMTSWEG_FITCONNECT_TOKEN_LIFETIME_SECONDS``) and
cannot be revoked: a client whose secret is withdrawn keeps its token until it expires.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jws import JWSRegistry

from services.fitconnect.clients import Client, ClientKind
from services.fitconnect.scopes import Scope, ScopeError, format_scopes, parse_scopes
from services.fitconnect.token_keys import TOKEN_ALG, TokenKeys

TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type
AUDIENCE = "fit-connect"
"""The ``aud`` of every token: Amtsweg's FIT-Connect API, not its native one."""
MAX_TOKEN_CHARS = 4096
_REGISTRY = JWSRegistry(algorithms=[TOKEN_ALG])

Clock = Callable[[], float]


class InvalidTokenError(Exception):
    """An access token is malformed, not signed by Amtsweg, expired, or not for this API."""


@dataclass(frozen=True)
class IssuedToken:
    """A token as the token endpoint answers it (RFC 6749 §5.1)."""

    access_token: str
    expires_in: int
    scopes: tuple[Scope, ...]


@dataclass(frozen=True)
class Access:
    """What a valid access token proves: the client and its scopes."""

    client: Client
    scopes: tuple[Scope, ...]
    expires_at: int


class Tokens:
    """Issues and checks access tokens with one key set."""

    def __init__(
        self, keys: TokenKeys, *, issuer: str, lifetime_seconds: int, clock: Clock = time.time
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._lifetime = lifetime_seconds
        self._clock = clock

    def issue(self, client: Client, scopes: tuple[Scope, ...]) -> IssuedToken:
        """A token for ``client`` with ``scopes`` (already checked as grantable)."""
        now = int(self._clock())
        claims = {
            "iss": self._issuer,
            "aud": AUDIENCE,
            "sub": client.client_id,
            "client_id": client.client_id,
            "client_kind": client.kind.value,
            "scope": format_scopes(scopes),
            "iat": now,
            "exp": now + self._lifetime,
            "jti": secrets.token_urlsafe(16),
        }
        header = {"alg": TOKEN_ALG, "kid": self._keys.kid, "typ": TOKEN_TYPE}
        token = jwt.encode(header, claims, self._keys.signing, registry=_REGISTRY)
        return IssuedToken(token, self._lifetime, scopes)

    def verify(self, token: str) -> Access:
        """What ``token`` proves; ``InvalidTokenError`` saying why it proves nothing."""
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidTokenError("the token is too long")
        try:
            decoded = jwt.decode(token, self._key_of, registry=_REGISTRY)
        except (JoseError, ValueError) as error:
            raise InvalidTokenError("the token is not one Amtsweg signed") from error
        if decoded.header.get("typ") != TOKEN_TYPE:
            raise InvalidTokenError("not an access token")
        return self._access(decoded.claims)

    def _key_of(self, guest: Any) -> ECKey:
        kid = guest.headers().get("kid")
        key = self._keys.verifying(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidTokenError("the token's key is not one of Amtsweg's")
        return key

    def _access(self, claims: dict[str, Any]) -> Access:
        if claims.get("iss") != self._issuer or claims.get("aud") != AUDIENCE:
            raise InvalidTokenError("the token is not for this API")
        expires_at, issued_at = claims.get("exp"), claims.get("iat")
        if not isinstance(expires_at, int) or not isinstance(issued_at, int):
            raise InvalidTokenError("the token has no lifetime")
        now = self._clock()
        if now >= expires_at:
            raise InvalidTokenError("the token has expired")
        if issued_at > now + 60:  # a clock a minute ahead is tolerated, not more
            raise InvalidTokenError("the token is issued in the future")
        subject, kind, scope = claims.get("sub"), claims.get("client_kind"), claims.get("scope")
        if (
            not isinstance(subject, str)
            or kind not in set(ClientKind)
            or not isinstance(scope, str)
        ):
            raise InvalidTokenError("the token names no client")
        try:
            scopes = parse_scopes(scope)
        except ScopeError as error:
            raise InvalidTokenError("the token's scope is not FIT-Connect's") from error
        return Access(Client(subject, ClientKind(kind)), scopes, expires_at)
