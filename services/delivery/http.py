"""The authorities' HTTP API: fetch a delivery and its parts, post a receipt.

A FastAPI router the composition root mounts next to the intake API. Every route needs
an authority's bearer token (``AMTSWEG_DELIVERY_AUTHORITY_TOKENS``); an authority sees
only deliveries addressed to it (others answer 404). Errors are RFC 7807 problems.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from contracts import topics
from contracts.envelope_signature import HTTP_SIGNATURE_HEADER
from contracts.messages import Receipt
from contracts.problems import Problem
from contracts.receipts import (
    JOSE_MEDIA_TYPE,
    MAX_RECEIPT_BYTES,
    MalformedReceiptError,
    ReceiptAnswer,
    parse_receipt_message,
)
from events.blobs import BlobNotFoundError
from events.dossier import Dossier
from events.ledger import Ledger
from events.submission import Submission
from events.vault import ContentErasedError, Vault
from services.delivery.auth import authority_for
from services.delivery.crypto import JweSealer
from services.delivery.follow_up import dispatched_envelope, follow_up_part
from services.delivery.projector import DeliveryProjector
from services.delivery.receipts import Refusal, record_receipt
from services.delivery.recipients import Recipients
from services.delivery.settings import DeliverySettings
from services.delivery.signing import EnvelopeSigner

PROBLEM_JSON = "application/problem+json"


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    """A model's schema, its sub-models referenced from the OpenAPI components.

    Its sub-models (Problem, Location) are components already: routes answer with them.
    """
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return schema


_REFUSALS = {
    Refusal.UNKNOWN_SUBMISSION: (404, "delivery-not-found", "Delivery not found"),
    Refusal.SENDER_MISMATCH: (403, "wrong-authority", "The receipt names another authority"),
    Refusal.WRONG_AUTHORITY: (403, "wrong-authority", "Not the addressee of this delivery"),
    Refusal.SIGNATURE_MISSING: (422, "receipt-signature-required", "The receipt must be signed"),
    Refusal.SIGNATURE_INVALID: (422, "receipt-signature-invalid", "The signature is not valid"),
    Refusal.NO_VERIFICATION_KEY: (
        422,
        "receipt-signature-unverifiable",
        "No verification key is registered for this authority",
    ),
    Refusal.OTHER_DELIVERY: (409, "delivery-mismatch", "Not the current delivery"),
    Refusal.NOT_DISPATCHED: (409, "delivery-mismatch", "Not the current delivery"),
}
_RECEIPT_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": _schema(Receipt)},
        JOSE_MEDIA_TYPE: {
            "schema": {"type": "string", "description": "JWS compact, payload: the receipt"}
        },
    },
}


def problem(status: int, slug: str, title: str, detail: str | None = None) -> JSONResponse:
    """An RFC 7807 problem response."""
    document = Problem.of(slug, title, status=status, detail=detail)
    headers = {"WWW-Authenticate": 'Bearer realm="amtsweg"'} if status == 401 else None
    return JSONResponse(
        document.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def create_router(  # noqa: PLR0915 - one route each
    ledger: Ledger,
    vault: Vault,
    projector: DeliveryProjector,
    recipients: Recipients,
    settings: DeliverySettings,
    *,
    signer: EnvelopeSigner,
) -> APIRouter:
    """The ``/v1/deliveries`` routes; envelopes served signed by ``signer``."""
    router = APIRouter(prefix="/v1/deliveries", tags=["deliveries (authorities)"])

    def not_found() -> JSONResponse:
        return problem(404, "delivery-not-found", "Delivery not found")

    def erased() -> JSONResponse:
        return problem(
            410, "content-erased", "Content erased", "The submission's content was erased."
        )

    def unauthorized() -> JSONResponse:
        return problem(401, "unauthorized", "Unauthorized", "A valid authority token is needed.")

    def find(delivery_id: str, authority_id: str | None) -> Submission | None:
        row = projector.store.rows([delivery_id]).get(delivery_id)
        if row is None:  # dispatched a moment ago: bring the read model up to date
            projector.catch_up()
            row = projector.store.rows([delivery_id]).get(delivery_id)
        if row is None or authority_id not in (None, row.authority_id):
            return None
        submission = ledger.get_submission(UUID(row.submission_id))
        if submission.delivery_id == delivery_id:
            return submission
        # a follow-up delivery (documents handed in later) of the case
        return submission if submission.supplement_of_delivery(delivery_id) else None

    def envelope_of(submission: Submission, delivery_id: str) -> tuple[dict[str, Any], str] | None:
        """The sealed envelope's reference and the channel of the delivery or follow-up."""
        if submission.delivery_id == delivery_id:
            return submission.envelope, submission.delivery_topic or ""
        return dispatched_envelope(ledger, submission, delivery_id)

    @router.get(
        "/{delivery_id}",
        responses={
            200: {
                "headers": {
                    HTTP_SIGNATURE_HEADER: {
                        "description": "Amtsweg's detached JWS over the body (ES256, kid)",
                        "schema": {"type": "string"},
                    }
                }
            },
            401: {"model": Problem},
            404: {"model": Problem},
            410: {"model": Problem},
        },
    )
    async def get_delivery(
        delivery_id: str, authorization: Annotated[str | None, Header()] = None
    ) -> Response:
        """The delivery envelope, as published on the authority's topic, with Amtsweg's
        signature over its bytes in the ``Amtsweg-Signature`` header."""
        authority_id = authority_for(authorization, settings.authority_tokens)
        if authority_id is None:
            return unauthorized()
        submission = await run_in_threadpool(find, delivery_id, authority_id)
        found = (
            await run_in_threadpool(envelope_of, submission, delivery_id) if submission else None
        )
        if submission is None or found is None or topics.is_pickup_channel(found[1]):
            return not_found()  # picked up over FIT-Connect: there is no envelope
        envelope = await run_in_threadpool(vault.envelope, submission.id, found[0])
        if envelope is None:
            return erased()
        signature = signer.sign(envelope)
        return Response(
            envelope, media_type="application/json", headers={HTTP_SIGNATURE_HEADER: signature}
        )

    @router.get(
        "/{delivery_id}/parts/{part_id}",
        responses={200: {"content": {"application/octet-stream": {}, JOSE_MEDIA_TYPE: {}}}},
    )
    async def get_part(
        delivery_id: str, part_id: str, authorization: Annotated[str | None, Header()] = None
    ) -> Response:
        """A part's bytes, or their JWE (``application/jose``) when the delivery is encrypted."""
        authority_id = authority_for(authorization, settings.authority_tokens)
        if authority_id is None:
            return unauthorized()
        submission = await run_in_threadpool(find, delivery_id, authority_id)
        if submission is None:
            return problem(404, "part-not-found", "Part not found")
        recipient = recipients.get(authority_id)
        key = recipient.encryption_key() if recipient else None
        if key is None:
            return problem(409, "key-unavailable", "The authority has no encryption key now")
        try:
            sealed = await run_in_threadpool(
                _seal, ledger, vault, submission, delivery_id, part_id, key
            )
        except ContentErasedError:
            return erased()
        except BlobNotFoundError:
            sealed = None
        if sealed is None:
            return problem(404, "part-not-found", "Part not found")
        return Response(  # a download, never a page: no browser renders or sniffs it
            sealed,
            media_type=JOSE_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{_file_name(part_id)}.jwe"'},
        )

    @router.post(
        "/{delivery_id}/receipt",
        response_model=ReceiptAnswer,
        responses={
            401: {"model": Problem},
            403: {"model": Problem},
            404: {"model": Problem},
            409: {"model": Problem},
            422: {"model": Problem},
        },
        openapi_extra={"requestBody": _RECEIPT_BODY},
    )
    async def post_receipt(
        delivery_id: str, request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> Response:
        """Accept, reject (with problems) or decline ("not-responsible") a delivery."""
        authority_id = authority_for(authorization, settings.authority_tokens)
        if authority_id is None:
            return unauthorized()
        body = await _limited_body(request)
        try:
            message = parse_receipt_message(body)
        except MalformedReceiptError as error:
            return problem(400, "malformed-receipt", "Malformed receipt", str(error)[:300])
        receipt = message.receipt
        if receipt.delivery_id != delivery_id:
            return problem(422, "delivery-id-mismatch", "The receipt is for another delivery")
        submission = await run_in_threadpool(find, delivery_id, None)
        if submission is None or str(submission.id) != receipt.submission_id:
            return not_found()
        result = await run_in_threadpool(record_receipt, ledger, recipients, message, authority_id)
        if result.refusal is not None:
            return problem(*_REFUSALS[result.refusal])
        answer = ReceiptAnswer(
            delivery_id=delivery_id, outcome=receipt.outcome, recorded=result.recorded
        )
        return JSONResponse(answer.model_dump(by_alias=True))

    return router


def _seal(  # noqa: PLR0917 - one private step of get_part
    ledger: Ledger,
    vault: Vault,
    submission: Submission,
    delivery_id: str,
    part_id: str,
    key: dict[str, Any],
) -> str | None:
    """The part's bytes as JWE to the authority; None if the delivery has no such part."""
    if submission.delivery_id != delivery_id:  # a follow-up delivery: a supplement's part
        found = follow_up_part(ledger, vault, submission, delivery_id, part_id)
        return JweSealer(key).seal(found[0], found[1]) if found else None
    for declared, sealed in Dossier.of(vault, submission).parts(submission):
        if declared.part_id == part_id:
            content = vault.read(submission.id, sealed["blob"])
            return JweSealer(key).seal(content, declared.mime_type)
    return None


def _file_name(part_id: str) -> str:
    """The part id as a file name: only letters, digits, ``.``, ``_`` and ``-``."""
    kept = "".join(c for c in part_id[:100] if c.isascii() and (c.isalnum() or c in "._-"))
    return kept.lstrip(".") or "part"


async def _limited_body(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_RECEIPT_BYTES:
            break  # parse_receipt_message refuses it as too large
    return bytes(body)
