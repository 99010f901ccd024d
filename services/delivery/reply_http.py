"""``POST /v1/deliveries/{deliveryId}/replies``: an authority replies to the applicant.

The body is a ``ReplyMessage`` as JSON, or signed as a JWS compact serialization
(``application/jose``), with the authority's bearer token. ``201`` for a new reply, ``200``
for the same reply again (``recorded: false``), RFC 7807 problems otherwise; a refused
reply records nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from contracts.problems import Problem
from contracts.receipts import JOSE_MEDIA_TYPE
from contracts.replies import ReplyMessage
from contracts.reply_wire import (
    ArrivedReply,
    MalformedReplyError,
    ReplyAnswer,
    ReplyTooLargeError,
    parse_reply,
)
from services.delivery.auth import authority_for
from services.delivery.http import problem
from services.delivery.replies import ReplyPorts, take_reply
from services.delivery.reply_checks import Refused, ReplyRefusal

STATUS = {
    ReplyRefusal.MALFORMED: (400, "Malformed reply"),
    ReplyRefusal.TOO_LARGE: (413, "The reply is too large"),
    ReplyRefusal.DELIVERY_MISMATCH: (422, "The reply is for another delivery"),
    ReplyRefusal.DELIVERY_NOT_FOUND: (404, "Delivery not found"),
    ReplyRefusal.WRONG_AUTHORITY: (403, "Not the addressee of this delivery"),
    ReplyRefusal.SIGNATURE_REQUIRED: (403, "The reply must be signed"),
    ReplyRefusal.SIGNATURE_INVALID: (403, "The signature is not valid"),
    ReplyRefusal.CONTENT_ERASED: (410, "Content erased"),
    ReplyRefusal.CONFLICT: (409, "Reply id used for another reply"),
    ReplyRefusal.NOT_DELIVERED: (409, "The case takes no replies"),
    ReplyRefusal.DUE_INVALID: (422, "The deadline is not valid"),
    ReplyRefusal.TOO_MANY_PARTS: (413, "Too many documents"),
    ReplyRefusal.PART_TOO_LARGE: (413, "A document is too large"),
    ReplyRefusal.MEDIA_TYPE: (422, "Media type not allowed"),
    ReplyRefusal.HASH_MISMATCH: (422, "A document does not match its hash"),
}
"""Each refusal's HTTP status and title."""


def inlined_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON schema with its sub-models written in place (no ``$defs``, which an
    OpenAPI document would resolve from its own root)."""
    schema = model.model_json_schema(by_alias=True)
    definitions: dict[str, Any] = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                return resolve(definitions[reference.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


_REPLY_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": inlined_schema(ReplyMessage)},
        JOSE_MEDIA_TYPE: {
            "schema": {"type": "string", "description": "JWS compact, payload: the reply"}
        },
    },
}


def refusal_problem(refusal: ReplyRefusal, detail: str | None = None) -> JSONResponse:
    """The problem answering a refused reply."""
    status, title = STATUS[refusal]
    return problem(status, refusal.value, title, detail)


def replies_router(ports: ReplyPorts) -> APIRouter:
    """The authorities' reply route (mounted beside ``/v1/deliveries``)."""
    router = APIRouter(prefix="/v1/deliveries", tags=["deliveries (authorities)"])
    max_bytes = ports.settings.reply_max_bytes

    @router.post(
        "/{delivery_id}/replies",
        status_code=201,
        response_model=ReplyAnswer,
        responses={
            200: {"model": ReplyAnswer, "description": "The same reply again: nothing changed"},
            400: {"model": Problem},
            401: {"model": Problem},
            403: {"model": Problem},
            404: {"model": Problem},
            409: {"model": Problem},
            410: {"model": Problem},
            413: {"model": Problem},
            422: {"model": Problem},
        },
        openapi_extra={"requestBody": _REPLY_BODY},
    )
    async def post_reply(
        delivery_id: str, request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> Response:
        """Reply to the applicant: a status message, a request for documents (what is
        missing, by ``due``) or a decision with documents (e.g. the Bescheid as PDF)."""
        authority_id = authority_for(authorization, ports.settings.authority_tokens)
        if authority_id is None:
            detail = "A valid authority token is needed."
            return problem(401, "unauthorized", "Unauthorized", detail)
        arrived = _parsed(await _limited_body(request, max_bytes), max_bytes, delivery_id)
        if isinstance(arrived, Refused):
            return refusal_problem(arrived.refusal, arrived.detail)
        result = await run_in_threadpool(take_reply, ports, arrived, authority_id)
        if result.refused is not None:
            return refusal_problem(result.refused.refusal, result.refused.detail)
        answer = ReplyAnswer(reply_id=result.reply_id, recorded=result.recorded)
        status = 201 if result.recorded else 200
        return JSONResponse(answer.model_dump(by_alias=True), status_code=status)

    return router


def _parsed(body: bytes | None, max_bytes: int, delivery_id: str) -> ArrivedReply | Refused:
    """The reply in the body, for the delivery the path names."""
    if body is None:
        return Refused(ReplyRefusal.TOO_LARGE, f"larger than {max_bytes} bytes")
    try:
        arrived = parse_reply(body, max_bytes)
    except ReplyTooLargeError as error:
        return Refused(ReplyRefusal.TOO_LARGE, str(error))
    except MalformedReplyError as error:
        return Refused(ReplyRefusal.MALFORMED, str(error))
    if arrived.message.delivery_id != delivery_id:
        return Refused(ReplyRefusal.DELIVERY_MISMATCH, "deliveryId differs from the path's")
    return arrived


async def _limited_body(request: Request, max_bytes: int) -> bytes | None:
    """The body; None as soon as it is larger than ``max_bytes`` (the rest is not read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            return None
    return bytes(body)
