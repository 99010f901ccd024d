"""``GET /.well-known/jwks.json`` (under ``/fit-connect``): the event log's verification keys.

The public halves of every key in the event token key set (:mod:`set_keys`), each with its
``kid``, ``alg`` ``PS512`` and ``use`` ``sig``: senders and receivers verify the Security
Event Tokens of ``GET /v1/cases/{caseId}/events`` with them. No token is needed.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.fitconnect.set_keys import SetKeys

JWKS_PATH = "/.well-known/jwks.json"


def set_keys_router(keys: Callable[[], SetKeys]) -> APIRouter:
    """The JWKS route (mounted under ``/fit-connect``)."""
    router = APIRouter(tags=["FIT-Connect: event log"])

    @router.get(JWKS_PATH)
    async def jwks() -> JSONResponse:
        """The JWK Set that verifies the event log's Security Event Tokens."""
        return JSONResponse(keys().published(), headers={"Cache-Control": "max-age=300"})

    return router
