"""``POST /fit-connect/token``: OAuth 2.0 client credentials (RFC 6749 §4.4).

FIT-Connect clients send ``grant_type=client_credentials``, ``client_id`` and
``client_secret`` form-encoded in the body (§2.3.1; HTTP Basic is accepted too), and
optionally ``scope``. The answer is §5.1's JSON (``access_token``, ``token_type``
``Bearer``, ``expires_in``, ``scope``) or §5.2's error: ``invalid_request``,
``invalid_client`` (401), ``unsupported_grant_type``, ``invalid_scope``. Without ``scope``
the client gets every scope it may have; with one, at most what it may have.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.fitconnect.clients import ClientCredentials, SenderScopes, grantable
from services.fitconnect.scopes import ScopeError, covered, format_scopes, parse_scopes
from services.fitconnect.tokens import IssuedToken, Tokens

TOKEN_PATH = "/token"  # noqa: S105 - a path
MAX_BODY_BYTES = 8 * 1024
FORM = "application/x-www-form-urlencoded"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_PARAMETERS = ("grant_type", "client_id", "client_secret", "scope")

_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "client_id": {"type": "string"},
        "client_secret": {"type": "string"},
        "scope": {"type": "string"},
    },
}
_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}


class _TokenRequestError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def response(self) -> JSONResponse:
        headers = dict(_NO_STORE)
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="fit-connect"'
        body = {"error": self.error, "error_description": self.description}
        return JSONResponse(body, status_code=self.status, headers=headers)


def token_router(
    tokens: Callable[[], Tokens], credentials: ClientCredentials, sender_scopes: SenderScopes
) -> APIRouter:
    """The token endpoint (mounted under ``/fit-connect``)."""
    router = APIRouter(tags=["FIT-Connect: access tokens"])

    @router.post(
        TOKEN_PATH,
        openapi_extra={
            "requestBody": {"required": True, "content": {FORM: {"schema": _REQUEST_SCHEMA}}}
        },
        responses={
            400: {
                "description": "RFC 6749 §5.2",
                "content": {"application/json": {"schema": _ERROR_SCHEMA}},
            },
            401: {
                "description": "invalid_client",
                "content": {"application/json": {"schema": _ERROR_SCHEMA}},
            },
        },
    )
    async def post_token(request: Request) -> JSONResponse:
        """An access token for a portal (sender) or an authority (subscriber)."""
        try:
            issued = await _grant(request, tokens, credentials, sender_scopes)
        except _TokenRequestError as error:
            return error.response()
        body = {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "scope": format_scopes(issued.scopes),
        }
        return JSONResponse(body, headers=_NO_STORE)

    return router


async def _grant(
    request: Request,
    tokens: Callable[[], Tokens],
    credentials: ClientCredentials,
    sender_scopes: SenderScopes,
) -> IssuedToken:
    """The token the request earns: grant type, then client, then scope checked."""
    form = await _form(request)
    grant = form.get("grant_type")
    if grant is None:
        raise _TokenRequestError("invalid_request", "grant_type is required")
    if grant != "client_credentials":
        raise _TokenRequestError("unsupported_grant_type", "only client_credentials is supported")
    client = credentials(*_client_authentication(request, form))
    if client is None:
        raise _TokenRequestError("invalid_client", "client authentication failed", 401)
    allowed = grantable(client, sender_scopes)
    try:
        requested = parse_scopes(form["scope"]) if "scope" in form else ()
    except ScopeError as error:
        raise _TokenRequestError("invalid_scope", str(error)) from None
    if not covered(requested, allowed):
        raise _TokenRequestError("invalid_scope", "a requested scope is not the client's")
    return tokens().issue(client, requested or allowed)


async def _form(request: Request) -> dict[str, str]:
    """The form parameters; each at most once (§3.2), the body at most 8 KiB."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != FORM:
        raise _TokenRequestError("invalid_request", f"the body must be {FORM}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise _TokenRequestError("invalid_request", "the body is too large")
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise _TokenRequestError("invalid_request", "the body is not UTF-8") from None
    form: dict[str, str] = {}
    for name in _PARAMETERS:
        values = parsed.get(name, [])
        if len(values) > 1:
            raise _TokenRequestError("invalid_request", f"{name} is given more than once")
        if values:
            form[name] = values[0]
    return form


def _client_authentication(request: Request, form: dict[str, str]) -> tuple[str, str]:
    """Client id and secret from the body or HTTP Basic (§2.3.1), not from both."""
    authorization = request.headers.get("authorization")
    in_body = "client_id" in form or "client_secret" in form
    if authorization is not None:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic" or in_body:
            raise _TokenRequestError("invalid_request", "one client authentication method only")
        try:
            pair = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _TokenRequestError("invalid_client", "malformed Basic credentials", 401) from None
        client_id, colon, client_secret = pair.partition(":")
        if not colon:
            raise _TokenRequestError("invalid_client", "malformed Basic credentials", 401)
        return unquote_plus(client_id), unquote_plus(client_secret)
    client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
    if not client_id or not client_secret:
        raise _TokenRequestError("invalid_client", "client_id and client_secret are required", 401)
    return client_id, client_secret
