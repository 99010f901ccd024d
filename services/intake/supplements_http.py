"""``/v1/submissions/{id}/supplements``: documents a portal hands in later, and their proof.

``POST`` takes a :class:`contracts.replies.SupplementRequest` (JSON, base64 documents) for
the portal's own submission (another portal's, or an unknown one, is not found). Every
check comes before anything is stored (``services.intake.supplements``); what passed is
sealed in the submission's vault (the documents and a dossier with the note, media types
and file names) and recorded as ``hand_in`` on its trail, which the follow-up delivery
takes to the authority. With an ``Idempotency-Key`` the same key and body answer the same
supplement again (200), the same key for another body is a conflict (409).

``GET …/supplements/{supplementId}`` says where it stands; ``…/confirmation`` is its
signed proof of receipt (``contracts.confirmation``, with ``supplementId``).
"""

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

import structlog
from fastapi import Depends, FastAPI, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from contracts.confirmation import CONFIRMATION_TYP, JOSE_MEDIA_TYPE
from contracts.messages import Href
from contracts.problems import problem_type
from contracts.replies import (
    SupplementAccepted,
    SupplementLinks,
    SupplementPart,
    SupplementRequest,
    SupplementStatus,
)
from events.case import ReplyConflictError, Supplement
from events.ledger import Ledger, TrailEntry
from events.lifecycle import ContentErasedError, InvalidTransitionError
from events.submission import Submission
from events.vault import Vault
from services.intake import identifiers
from services.intake.confirmation import ConfirmationPorts, supplement_confirmation_of
from services.intake.errors import ProblemError, malformed
from services.intake.json_form import body_too_large
from services.intake.openapi import (
    COMPONENT_REF,
    PROBLEM_JSON,
    install_openapi,
    json_schema_for_openapi,
    problem_responses,
)
from services.intake.settings import IntakeSettings
from services.intake.supplements import (
    Document,
    check_case,
    decode_documents,
    dossier_document,
    problem,
    request_digest,
    state_of,
    supplement_id_for,
)
from services.intake.upload import check_declared_length

log = structlog.get_logger(__name__)


def _links(submission_id: UUID, supplement_id: str, *, confirmation: bool) -> SupplementLinks:
    base = f"/v1/submissions/{submission_id}/supplements/{supplement_id}"
    return SupplementLinks(
        self_=Href(href=base),
        confirmation=Href(href=f"{base}/confirmation") if confirmation else None,
    )


_PROBLEMS = {
    409: (
        (
            "The case is not delivered (not-delivered), the request was answered before "
            "(request-answered), or the Idempotency-Key was used for another body "
            "(supplement-conflict)."
        ),
        "supplement-conflict",
        "Supplement conflict",
    ),
    410: ("The case's content was erased.", "content-erased", "Content erased"),
    413: (
        "A document, their number or their total exceeds the intake's limits.",
        "part-too-large",
        "Part too large",
    ),
    422: (
        (
            "A document's SHA-512 differs from its hash (hash-mismatch), its media type is not "
            "accepted (media-type-not-allowed), or the case has no such request "
            "(request-not-found)."
        ),
        "hash-mismatch",
        "Hash mismatch",
    ),
}


def _supplement_problems() -> dict[int | str, dict[str, Any]]:
    """The OpenAPI responses of the supplement's own problems."""
    return {
        status: {
            "description": description,
            "content": {
                PROBLEM_JSON: {
                    "schema": {"$ref": COMPONENT_REF.format(model="Problem")},
                    "example": {"type": problem_type(slug), "title": title, "status": status},
                }
            },
        }
        for status, (description, slug, title) in _PROBLEMS.items()
    }


def _not_found(supplement_id: str) -> ProblemError:
    return problem(404, "supplement-not-found", "Supplement not found", f"No {supplement_id}.")


def mount_supplements(  # noqa: PLR0915, PLR0917 - one route each, its ports wired once
    app: FastAPI,
    ledger: Ledger,
    vault: Vault,
    settings: IntakeSettings,
    portal: Callable[..., str],
    owned: Callable[[UUID, str], Submission],
    confirmations: ConfirmationPorts | None = None,
) -> None:
    """Add the supplement routes; ``portal`` authenticates, ``owned`` finds the portal's
    own submission (or raises its not-found problem)."""
    media_types = settings.supplement_media_type_set()
    signed = confirmations is not None
    request_schema, definitions = json_schema_for_openapi(SupplementRequest)
    install_openapi(app, definitions)

    def parse(body: bytes) -> tuple[SupplementRequest, str]:
        try:
            request = SupplementRequest.model_validate_json(body)
        except ValidationError as error:
            errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors()[:20]]
            raise malformed("The body is not a supplement request.", errors) from None
        return request, request_digest(request)

    def seal(submission_id: UUID, request: SupplementRequest) -> tuple[str, list[dict[str, Any]]]:
        """The dossier's blob and the sealed parts (``partId``, ``blob``, ``sha512``, ``size``)."""
        documents: list[Document] = decode_documents(request, settings, media_types)
        written: list[str] = []
        try:
            parts = []
            for document in documents:
                sealed = vault.put(submission_id, document.content)
                written.append(sealed.blob)
                parts.append(
                    {
                        "partId": document.attachment_id,
                        "blob": sealed.blob,
                        "sha512": sealed.sha512,
                        "size": sealed.size,
                    }
                )
            dossier = vault.put_document(submission_id, dossier_document(request))
            written.append(dossier.blob)
        except BaseException:
            vault.discard(written)
            raise
        return dossier.blob, parts

    def record(
        submission_id: UUID, portal_id: str, request: SupplementRequest, digest: str, sid: str
    ) -> bool:
        """True: recorded now; False: recorded before with the same body (a retry)."""
        submission = owned(submission_id, portal_id)
        known = submission.supplements.get(sid)
        if known is not None:
            _same(known, digest)
            return False
        check_case(submission, request.answers)
        dossier, parts = seal(submission.id, request)
        blobs = [dossier, *(str(part["blob"]) for part in parts)]
        try:
            recorded = ledger.execute(
                submission.id,
                lambda current: current.hand_in(
                    sid,
                    answers=request.answers,
                    dossier=dossier,
                    parts=parts,
                    request_digest=digest,
                ),
            )
        except ReplyConflictError:
            vault.discard(blobs)
            raise _conflict(sid) from None
        except (InvalidTransitionError, ContentErasedError):  # changed meanwhile: decide anew
            vault.discard(blobs)
            check_case(ledger.get_submission(submission.id), request.answers)
            raise problem(
                409, "not-delivered", "Not delivered", "The case does not take documents now."
            ) from None
        if not recorded:  # the same supplement, recorded by a concurrent retry
            vault.discard(blobs)
        return recorded

    @app.post(
        "/v1/submissions/{submission_id}/supplements",
        status_code=202,
        response_model=SupplementAccepted,
        response_model_by_alias=True,
        response_model_exclude_none=True,
        responses={
            200: {"description": "The same supplement again (same key, same body)."},
            **problem_responses(400, 401, 404, 415),
            **_supplement_problems(),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": request_schema}},
            }
        },
    )
    async def post_supplement(
        submission_id: UUID,
        request: Request,
        portal_id: Annotated[str, Depends(portal)],
        key: Annotated[
            str | None,
            Header(alias="Idempotency-Key", max_length=identifiers.MAX_IDEMPOTENCY_KEY),
        ] = None,
    ) -> JSONResponse:
        """Hand in documents for the case later (Nachreichung), optionally answering a
        request for documents (``answers``: its reply id). Nothing is recorded unless every
        document is base64 of the bytes its SHA-512 names, within the intake's size limits
        and of an accepted media type, and the case is delivered and not erased."""
        idempotency_key = identifiers.idempotency_key(key)
        await run_in_threadpool(owned, submission_id, portal_id)
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        check_declared_length(request, settings.max_json_body_bytes)
        if media_type != "application/json":
            raise problem(415, "unsupported-media-type", "Unsupported media type", "Send JSON.")
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > settings.max_json_body_bytes:
                raise body_too_large(settings)
        supplement, digest = await run_in_threadpool(parse, bytes(body))
        sid = supplement_id_for(submission_id, idempotency_key)
        created = await run_in_threadpool(record, submission_id, portal_id, supplement, digest, sid)
        log.info(
            "intake.supplement_received" if created else "intake.supplement_replayed",
            submission_id=str(submission_id),
            supplement_id=sid,
            documents=len(supplement.attachments),
            portal_id=portal_id,
        )
        current = await run_in_threadpool(owned, submission_id, portal_id)
        answer = SupplementAccepted(
            supplement_id=sid,
            status=state_of(current.supplements[sid]),
            links=_links(submission_id, sid, confirmation=signed),
        )
        base = f"/v1/submissions/{submission_id}/supplements/{sid}"
        return JSONResponse(
            answer.model_dump(by_alias=True, exclude_none=True),
            status_code=202 if created else 200,
            headers={"Location": base},
        )

    def status(submission_id: UUID, portal_id: str, sid: str) -> SupplementStatus:
        submission = owned(submission_id, portal_id)
        supplement = submission.supplements.get(sid)
        if supplement is None:
            raise _not_found(sid)
        _, handed_in = _entries(ledger, submission_id, sid)
        return SupplementStatus(
            supplement_id=sid,
            submission_id=str(submission_id),
            case_id=submission.case_id,
            status=state_of(supplement),
            answers=supplement.answers,
            received_at=handed_in.timestamp,
            delivery_id=supplement.delivery_id,
            parts=[
                SupplementPart(
                    part_id=str(part["partId"]),
                    sha512=str(part["sha512"]),
                    size=int(str(part["size"])),
                )
                for part in supplement.parts
            ],
            links=_links(submission_id, sid, confirmation=signed),
        )

    @app.get(
        "/v1/submissions/{submission_id}/supplements/{supplement_id}",
        response_model=SupplementStatus,
        response_model_by_alias=True,
        response_model_exclude_none=True,
        responses=problem_responses(400, 401, 404),
    )
    async def get_supplement(
        submission_id: UUID, supplement_id: str, portal_id: Annotated[str, Depends(portal)]
    ) -> dict[str, Any]:
        """Where the supplement stands: ``received``, ``dispatched`` (its follow-up delivery
        went to the authority), ``accepted`` or ``rejected`` (the authority's receipt)."""
        answer = await run_in_threadpool(status, submission_id, portal_id, supplement_id)
        return answer.model_dump(by_alias=True, exclude_none=True)

    if confirmations is None:
        return

    def confirmation(submission_id: UUID, portal_id: str, sid: str) -> str:
        submission = owned(submission_id, portal_id)
        if sid not in submission.supplements:
            raise _not_found(sid)
        received, handed_in = _entries(ledger, submission_id, sid)
        claims = supplement_confirmation_of(
            submission_id,
            received,
            handed_in,
            confirmations.case_of(submission_id),
            confirmations.issuer,
        )
        return confirmations.sign(claims)

    @app.get(
        "/v1/submissions/{submission_id}/supplements/{supplement_id}/confirmation",
        response_class=Response,
        responses={
            200: {
                "description": "The supplement's proof of receipt: a compact JWS, header typ "
                f"{CONFIRMATION_TYP!r}, signed with a key of GET /v1/keys.",
                "content": {JOSE_MEDIA_TYPE: {"schema": {"type": "string"}}},
            },
            **problem_responses(400, 401, 404),
        },
    )
    async def get_supplement_confirmation(
        submission_id: UUID, supplement_id: str, portal_id: Annotated[str, Depends(portal)]
    ) -> Response:
        """The signed proof that Amtsweg received these documents: when, for which
        submission and case, the SHA-512 and size of each, and the chain hash of the
        ``SupplementReceived`` event; no personal data. Verify it offline with
        ``amtsweg portal verify-receipt``."""
        token = await run_in_threadpool(confirmation, submission_id, portal_id, supplement_id)
        return Response(token, media_type=JOSE_MEDIA_TYPE, headers={"Cache-Control": "no-store"})


def _same(known: Supplement, digest: str) -> None:
    if known.request_digest != digest:
        raise _conflict(known.supplement_id)


def _conflict(supplement_id: str) -> ProblemError:
    return problem(
        409,
        "supplement-conflict",
        "Supplement conflict",
        f"The Idempotency-Key of supplement {supplement_id} was used for another body.",
    )


def _entries(ledger: Ledger, submission_id: UUID, sid: str) -> tuple[TrailEntry, TrailEntry]:
    """The submission's ``Received`` event and the supplement's ``SupplementReceived``."""
    trail = ledger.trail(submission_id)
    handed_in = next(
        entry
        for entry in trail
        if entry.event == "SupplementReceived" and entry.data.get("supplement_id") == sid
    )
    return trail[0], handed_in
