"""``GET /v1/keys``: Amtsweg's public envelope signing keys, a JWK Set (RFC 7517).

Public and unauthenticated, like the authorities' keys in the directory: receivers fetch
it to verify the ``amtsweg-signature`` of every envelope. Every key that may have signed an
envelope still waiting on a topic is listed, the one signing now first.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from contracts.envelope_signature import KEYS_PATH
from services.delivery.signing import EnvelopeSigner

JWK_SET_JSON = "application/jwk-set+json"

_JWK_SET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["keys"],
    "properties": {"keys": {"type": "array", "items": {"type": "object"}}},
}


def keys_router(signer: EnvelopeSigner) -> APIRouter:
    """The route publishing ``signer``'s public keys."""
    router = APIRouter(tags=["deliveries (authorities)"])

    @router.get(
        KEYS_PATH,
        responses={200: {"content": {JWK_SET_JSON: {"schema": _JWK_SET_SCHEMA}}}},
        response_class=JSONResponse,
    )
    async def get_keys() -> JSONResponse:
        """Amtsweg's public keys that sign delivery envelopes (JWK Set; ES256, by ``kid``)."""
        return JSONResponse(
            signer.jwks(),
            media_type=JWK_SET_JSON,
            headers={"Cache-Control": "public, max-age=300"},
        )

    return router
