"""Subscribing on the Submission API 1.1.3: authorities pick up their deliveries.

An authority whose directory channel is FIT-Connect picks up with its own client:
``GET /v1/submissions`` lists what is ready for pickup at its destination,
``GET /v1/submissions/{id}`` answers the ``Submission`` (metadata and data as JWEs to the
authority's own key), ``GET …/attachments/{attachmentId}`` one attachment's JWE
(``application/jose``), made while the attachment streams. What is ready, and each
delivery's pickup document (:mod:`contracts.pickup`), come from the composition root
(:class:`PickupPorts`). Only subscribers pick up (a sender is ``403``); another
destination's submission, an unknown one, and one whose content was erased are ``404``,
as the spec has it (its 404 is "not found, or not in a state to be picked up").
Documents handed in later to a case are a new submission within the same case (the
spec's ``caseId``: "innerhalb eines bestehenden Vorgangs eine neue Einreichung"): listed
and answered with the case's ``caseId``, their own ``submissionId`` and no data.
"""

# No ``from __future__ import annotations``: FastAPI must see the dependency ``access``.
import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, StreamingResponse

from contracts.cases import case_id_of
from contracts.pickup import PickupDocument, attachment_jwe
from services.fitconnect.clients import ClientKind
from services.fitconnect.destination_directory import DestinationDirectory
from services.fitconnect.destinations import destination_id
from services.fitconnect.paging import Limit, Offset
from services.fitconnect.problems import FitConnectProblemError, forbidden, not_found
from services.fitconnect.scopes import DestinationScope
from services.fitconnect.submission_table import SubmissionTable
from services.fitconnect.tokens import Access


@dataclass(frozen=True)
class Pickup:
    """A submission's current delivery by pickup."""

    authority_id: str
    document: PickupDocument | None
    """None once its content was erased (crypto-shredded): nothing left to pick up."""
    case_id: str | None = None
    """The submission's case, where the submission table announced none."""


@dataclass(frozen=True)
class ReadyItem:
    """One submission ready for pickup."""

    submission_id: str
    """FIT-Connect's ``submissionId``: the submission's, or a follow-up delivery's id."""
    of: str
    """The submission (Amtsweg's) whose case it belongs to."""
    case_id: str
    """That submission's case, where the submission table announced none."""


ReadyForPickup = Callable[[str, int, int], tuple[list[ReadyItem], int]]
"""(authority id, offset, limit) -> a page of submissions ready for pickup, and the
count of the authority's open deliveries and follow-up deliveries."""

PickupOf = Callable[[uuid.UUID], Pickup | None]
"""The submission's current delivery by pickup, or None (no such submission, not
delivered by pickup, or answered already)."""

StreamBlob = Callable[[uuid.UUID, str], AsyncIterator[bytes]]
"""The plaintext of one of the submission's sealed blobs, chunk by chunk."""


@dataclass(frozen=True)
class PickupPorts:
    """What the pickup routes need besides tokens and destinations."""

    ready: ReadyForPickup
    pickup: PickupOf
    stream: StreamBlob
    table: Callable[[], SubmissionTable]
    """Case and service of submissions sent over FIT-Connect."""


def pickup_router(
    directory: DestinationDirectory, access: Callable[..., Access], ports: PickupPorts
) -> APIRouter:
    """The pickup routes (mounted under ``/fit-connect``)."""
    router = APIRouter(tags=["FIT-Connect: subscribing"])

    @router.get("/v1/submissions")
    async def get_submissions_for_pickup(
        granted: Annotated[Access, Depends(access)],
        destinationId: Annotated[str | None, Query()] = None,  # noqa: N803 - the spec's name
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> JSONResponse:
        """The submissions ready for pickup at the client's destinations, oldest first."""
        _subscriber(granted)
        destinations = _subscribed(granted)
        if destinationId is not None:
            wanted = _uuid(destinationId)
            if wanted not in destinations:
                raise forbidden("The access token does not subscribe to this destination.")
            destinations = [wanted]
        listed: list[dict[str, str]] = []
        total = 0
        for destination in destinations:
            found = directory(destination)
            if found is None or found.authority_id is None:
                continue
            skip = max(0, offset - total)
            items, count = await asyncio.to_thread(
                ports.ready, found.authority_id, skip, limit - len(listed)
            )
            cases = await asyncio.to_thread(_cases, ports.table(), items)
            listed += [
                {
                    "destinationId": str(destination),
                    "submissionId": item.submission_id,
                    "caseId": case,
                }
                for item, case in zip(items, cases, strict=True)
            ]
            total += count
        body = {"count": len(listed), "offset": offset, "totalCount": total, "submissions": listed}
        return JSONResponse(body)

    @router.get("/v1/submissions/{submissionId}")
    async def get_submission(
        submissionId: str,  # noqa: N803
        granted: Annotated[Access, Depends(access)],
    ) -> JSONResponse:
        """The submission: ids, service, attachment ids, metadata and data as JWEs."""
        found = await _picked_up(granted, submissionId)
        document = found.document
        assert document is not None
        announced = await asyncio.to_thread(ports.table().get, document.submission_id)
        case_id = found.case_id or case_id_of(document.submission_id)
        body: dict[str, Any] = {
            "destinationId": str(destination_id(document.authority_id)),
            "submissionId": document.pickup_id,
            "caseId": announced.case_id if announced else case_id,
            "attachments": [a.attachment_id for a in document.attachments],
            "serviceType": announced.service_type if announced else document.service_type,
            "encryptedMetadata": document.encrypted_metadata,
        }
        if document.encrypted_data is not None:  # a follow-up delivery has no data
            body["encryptedData"] = document.encrypted_data
        return JSONResponse(body)

    @router.get(
        "/v1/submissions/{submissionId}/attachments/{attachmentId}",
        responses={200: {"content": {"application/jose": {"schema": {"type": "string"}}}}},
        response_class=StreamingResponse,
    )
    async def get_submission_attachment(
        submissionId: str,  # noqa: N803
        attachmentId: str,  # noqa: N803
        granted: Annotated[Access, Depends(access)],
    ) -> StreamingResponse:
        """One attachment as a JWE compact to the authority's key, streamed."""
        document = (await _picked_up(granted, submissionId)).document
        assert document is not None
        attachment = document.attachment(str(_uuid(attachmentId)))
        if attachment is None:
            raise not_found(
                "attachment-not-found",
                "Attachment not found",
                f"The submission has no attachment {attachmentId!r}.",
            )
        plaintext = ports.stream(uuid.UUID(document.submission_id), attachment.blob)
        return StreamingResponse(
            attachment_jwe(attachment, plaintext), media_type="application/jose"
        )

    async def _picked_up(granted: Access, submission_id: str) -> Pickup:
        _subscriber(granted)
        found = await asyncio.to_thread(ports.pickup, _uuid(submission_id))
        if found is None or destination_id(found.authority_id) not in _subscribed(granted):
            raise not_found(
                "submission-not-found",
                "Submission not found",
                f"No submission {submission_id!r} ready for pickup.",
            )
        if found.document is None:
            raise not_found(
                "submission-not-found",
                "Submission not found",
                f"The content of submission {submission_id!r} was erased.",
            )
        return found

    return router


def _subscriber(granted: Access) -> None:
    if granted.client.kind is not ClientKind.SUBSCRIBER:
        raise forbidden("Only subscribers pick up submissions.")


def _subscribed(granted: Access) -> list[uuid.UUID]:
    return [
        scope.destination_id
        for scope in granted.scopes
        if isinstance(scope, DestinationScope) and scope.action == "subscribe"
    ]


def _cases(table: SubmissionTable, items: list[ReadyItem]) -> list[str]:
    """Each item's case: as announced when sent over FIT-Connect, else its submission's."""
    cases = []
    for item in items:
        announced = table.get(item.of)
        cases.append(announced.case_id if announced else item.case_id)
    return cases


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise FitConnectProblemError(
            400, "bad-request", "Bad request", f"{text!r} is not a UUID."
        ) from None
