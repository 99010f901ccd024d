"""Sending on the Submission API 1.1.3: announce, upload attachments, submit.

``POST /v1/submissions`` announces a submission to a destination (201 with
``submissionId`` and ``caseId``); ``PUT …/attachments/{attachmentId}`` stores one
announced attachment's JWE as received (streamed into the vault, within the intake's part
limit); ``PUT /v1/submissions/{id}`` decrypts metadata, data and attachments with the
destination's private key (each attachment streamed from its sealed JWE into a new sealed
blob, never whole in memory) and hands the submission to Amtsweg's intake (:mod:`handover`),
which checks the metadata and its hashes and records ``Received`` under the FIT-Connect
submission id (202). A second submit answers the first one's answer and records nothing.
Only the sender that announced a submission sees it; another's is ``404`` (``403`` on an
attachment upload, where the spec has no ``404``).
"""

# No ``from __future__ import annotations``: FastAPI must see the dependency ``access``.
import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from events.blobs import BlobTooLargeError
from events.vault import SealedPart, Vault
from services.fitconnect.callback_table import Callback, CallbackTable, submission_owner
from services.fitconnect.clients import ClientKind
from services.fitconnect.destination_admin_http import CreateCallback
from services.fitconnect.destination_directory import LEIKA_URN, Destination, DestinationDirectory
from services.fitconnect.destination_keys import DestinationKeys
from services.fitconnect.destinations_http import reaches
from services.fitconnect.handover import Handover, HandoverRefusedError, Intake
from services.fitconnect.jwe_decrypt import (
    JweDecryptor,
    JweError,
    PrivateKeyOf,
    decrypt,
    decrypted_stream,
)
from services.fitconnect.problems import FitConnectProblemError, forbidden, not_found
from services.fitconnect.scopes import SendScope
from services.fitconnect.submission_table import (
    Announcement,
    AuthenticationTags,
    SubmissionTable,
    Upload,
)
from services.fitconnect.tokens import Access

_UUID = r"^[0-9a-fA-F-]{32,36}$"
_URN = r"^urn:[a-z0-9][a-z0-9-]{0,31}:[a-z0-9()+,.:=@;$_!*'%/?#-]+$"
_JWE = r"^[a-zA-Z0-9-_=.]+$"
MAX_ANNOUNCED = 10_000
"""A parse guard on ``announcedAttachments`` (beyond it: ``400``); the cap a sender meets is
the intake's attachment limit (``SendingPorts.max_attachments``, beyond it: ``413``)."""


@dataclass(frozen=True)
class SendingPorts:
    """What the sending routes need besides tokens, destinations and keys."""

    table: Callable[[], SubmissionTable]
    vault: Callable[[], Vault]
    intake: Intake
    max_part_bytes: int
    """An attachment's limit (the JWE as received, and its plaintext): the intake's."""
    max_metadata_bytes: int
    max_attachments: int
    """How many attachments a submission may announce: the intake's limit."""
    callbacks: Callable[[], CallbackTable] | None = None
    """Where a sender's ``callback`` of the announce is kept (none: it is ignored)."""
    insecure_callbacks: bool = False
    """Allow ``http://`` callback URLs (development and tests only)."""


class ServiceType(BaseModel):
    """The announce's ``serviceType``."""

    model_config = ConfigDict(extra="ignore")
    name: str = Field(max_length=1024)
    description: str | None = Field(default=None, max_length=4096)
    identifier: str = Field(min_length=7, max_length=255, pattern=_URN)


class CreateSubmission(BaseModel):
    """The announce's body (``CreateSubmission``)."""

    model_config = ConfigDict(extra="ignore")
    destination_id: uuid.UUID = Field(alias="destinationId")
    announced_attachments: list[Annotated[str, Field(pattern=_UUID)]] = Field(
        alias="announcedAttachments", max_length=MAX_ANNOUNCED
    )
    service_type: ServiceType = Field(alias="serviceType")
    case_id: uuid.UUID | None = Field(default=None, alias="caseId")
    callback: CreateCallback | None = None
    """``new-events`` callbacks to the sender for this submission."""


class SubmitSubmission(BaseModel):
    """The submit's body (``SubmitSubmission``)."""

    model_config = ConfigDict(extra="ignore")
    encrypted_metadata: str = Field(alias="encryptedMetadata", pattern=_JWE)
    encrypted_data: str | None = Field(default=None, alias="encryptedData", pattern=_JWE)


def submissions_router(  # noqa: PLR0915 - one route each
    directory: DestinationDirectory,
    keys: Callable[[], DestinationKeys],
    access: Callable[..., Access],
    ports: SendingPorts,
) -> APIRouter:
    """The sending routes (mounted under ``/fit-connect``)."""
    router = APIRouter(tags=["FIT-Connect: sending"])

    async def _check_case(case_id: str, granted: Access, destination_id: str) -> None:
        """A submission in an existing case (FIT-Connect's "Reply" within a case) only
        from the sender that opened it, to the same destination."""
        earlier = await asyncio.to_thread(ports.table().of_case, case_id)
        if any(
            a.client_id != granted.client.client_id or a.destination_id != destination_id
            for a in earlier
        ):
            raise forbidden(
                "The case belongs to another sender or destination: a submission in an"
                " existing case comes from the sender that opened it, to the same destination."
            )

    @router.post("/v1/submissions", status_code=201)
    async def create_submission(
        body: CreateSubmission, granted: Annotated[Access, Depends(access)]
    ) -> JSONResponse:
        """Announce a submission to a destination."""
        _sender(granted)
        destination = directory(body.destination_id)
        if destination is None or not destination.services:
            raise not_found(
                "destination-not-found",
                "Destination not found",
                f"No destination {body.destination_id}.",
            )
        if not _may_send(granted, destination, body.service_type.identifier):
            raise forbidden("The access token's scopes do not allow this service here.")
        if not _offers(destination, body.service_type.identifier):
            raise _unprocessable(
                "service-not-offered",
                "Service not offered",
                "The destination does not accept this serviceType.",
            )
        if len(body.announced_attachments) > ports.max_attachments:
            raise _too_large(f"At most {ports.max_attachments} attachments per submission.")
        twice = _repeated(body.announced_attachments)
        if twice:
            raise FitConnectProblemError(
                400,
                "attachment-ids-not-unique",
                "Attachment ids not unique",
                f"announcedAttachments names {twice} more than once: every attachment needs "
                "its own id (the uploads and the metadata's hashes go by id).",
            )
        if body.case_id is not None:
            await _check_case(str(body.case_id), granted, str(destination.destination_id))
        announcement = Announcement(
            submission_id=str(uuid.uuid4()),
            destination_id=str(destination.destination_id),
            client_id=granted.client.client_id,
            case_id=str(body.case_id or uuid.uuid4()),
            service_type=body.service_type.model_dump(exclude_none=True),
            announced=tuple(a.lower() for a in body.announced_attachments),
            submitted=None,
        )
        if body.callback is not None and ports.callbacks is not None:
            if not ports.insecure_callbacks and not body.callback.url.startswith("https://"):
                raise _bad_request("The callback URL must be an HTTPS URL.")
            callback = Callback(body.callback.url, body.callback.secret)
            owner = submission_owner(announcement.submission_id)
            await asyncio.to_thread(ports.callbacks().set_callback, owner, callback)
        await asyncio.to_thread(ports.table().announce, announcement)
        return JSONResponse(
            {
                "destinationId": announcement.destination_id,
                "submissionId": announcement.submission_id,
                "caseId": announcement.case_id,
            },
            status_code=201,
        )

    @router.put("/v1/submissions/{submissionId}/attachments/{attachmentId}", status_code=204)
    async def add_submission_attachment(
        submissionId: str,  # noqa: N803 - the spec's name
        attachmentId: str,  # noqa: N803
        request: Request,
        granted: Annotated[Access, Depends(access)],
    ) -> Response:
        """Store one announced attachment's JWE as received."""
        announcement = await _owned(granted, submissionId, upload=True)
        attachment_id = attachmentId.lower()
        if attachment_id not in announcement.announced:
            raise _unprocessable(
                "attachment-not-announced",
                "Attachment not announced",
                "Upload attachments under their announced ids.",
            )
        if announcement.submitted is not None:
            raise _unprocessable(
                "submission-state-invalid",
                "Submission already submitted",
                "Attachments cannot change once the submission is submitted.",
            )
        _media_type(request, "application/jose")
        vault = ports.vault()
        dots = [0]
        try:
            sealed = await vault.put_stream(
                uuid.UUID(announcement.submission_id),
                _chunks(request, dots),
                ports.max_part_bytes,
            )
        except BlobTooLargeError:
            raise _too_large(f"An attachment exceeds {ports.max_part_bytes} bytes.") from None
        except NotCompactError:
            raise _bad_request("The attachment is not a JWE in compact serialization.") from None
        if sealed.size == 0 or dots[0] != JWE_DOTS:
            await asyncio.to_thread(vault.discard, [sealed.blob])
            raise _bad_request("The attachment is not a JWE in compact serialization.")
        upload = Upload(attachment_id, sealed.blob, sealed.size)
        await asyncio.to_thread(ports.table().upload, announcement.submission_id, upload)
        return Response(status_code=204)

    @router.put("/v1/submissions/{submissionId}", status_code=202)
    async def submit_submission(
        submissionId: str,  # noqa: N803
        body: SubmitSubmission,
        granted: Annotated[Access, Depends(access)],
    ) -> JSONResponse:
        """Decrypt the submission and hand it to the intake."""
        announcement = await _owned(granted, submissionId)
        if announcement.submitted is not None:
            return JSONResponse(announcement.submitted, status_code=202)
        uploads = await asyncio.to_thread(ports.table().uploads, announcement.submission_id)
        missing = [a for a in announcement.announced if a not in uploads]
        if missing:
            raise _unprocessable(
                "missing-attachments",
                "Announced attachments missing",
                f"{len(missing)} announced attachment(s) were not uploaded yet.",
            )
        if body.encrypted_data is None:
            raise _unprocessable(
                "missing-data", "Data missing", "encryptedData is required by Amtsweg."
            )
        handover, tags = await asyncio.to_thread(_decrypted, announcement, body)
        attachments, attachment_tags = await _streamed(announcement, uploads)
        handover = dataclasses.replace(handover, attachments=attachments)
        tags = dataclasses.replace(tags, attachments=attachment_tags)
        try:
            await ports.intake(handover)
        except HandoverRefusedError as refused:
            raise _refused(refused) from None
        answer = _reduced(announcement)
        await asyncio.to_thread(
            ports.table().mark_submitted, announcement.submission_id, answer, tags
        )
        return JSONResponse(answer, status_code=202)

    async def _owned(granted: Access, submission_id: str, *, upload: bool = False) -> Announcement:
        """The sender's announced submission. Another's or none is ``404``, on an upload
        ``403`` (the spec has no ``404`` there: the token's scopes do not reach it)."""
        _sender(granted)
        try:
            key = str(uuid.UUID(submission_id))
        except ValueError:
            key = None
        found = await asyncio.to_thread(ports.table().get, key) if key else None
        if found is None or found.client_id != granted.client.client_id:
            if upload:
                raise forbidden(f"No submission {submission_id!r} of this sender.")
            raise not_found(
                "submission-not-found", "Submission not found", f"No submission {submission_id!r}."
            )
        return found

    def _private_keys(announcement: Announcement) -> PrivateKeyOf:
        destination = uuid.UUID(announcement.destination_id)
        destination_keys = keys()

        def private_key_of(kid: str) -> Any:
            found = destination_keys.private_key(destination, kid)
            return None if found is None else found.private_key

        return private_key_of

    def _decrypted(
        announcement: Announcement, body: SubmitSubmission
    ) -> tuple[Handover, AuthenticationTags]:
        """Metadata and data decrypted with the destination's key (blocking: run it in a
        thread); the handover (no attachments yet) and the JWEs' authentication tags."""
        private_key_of = _private_keys(announcement)
        tags: dict[str, str] = {}

        def opened(compact: str, limit: int, what: str) -> bytes:
            try:
                decrypted = decrypt(compact, private_key_of, limit)
            except JweError as error:
                raise _unprocessable(
                    "encryption-invalid", "Decryption failed", f"{what}: {error}."
                ) from None
            tags[what] = decrypted.authentication_tag
            return decrypted.plaintext

        metadata_bytes = opened(body.encrypted_metadata, ports.max_metadata_bytes, "metadata")
        data = opened(body.encrypted_data or "", ports.max_part_bytes, "data")
        received = AuthenticationTags(metadata=tags["metadata"], data=tags["data"], attachments={})
        try:
            metadata = json.loads(metadata_bytes)
        except (ValueError, UnicodeDecodeError):
            metadata = None
        if not isinstance(metadata, dict):
            raise _unprocessable(
                "metadata-invalid", "Metadata invalid", "The metadata is not a JSON object."
            )
        identifier = announcement.service_type.get("identifier", "")
        if "publicServiceType" not in metadata and identifier.startswith(LEIKA_URN):
            metadata["publicServiceType"] = {
                key: value
                for key, value in announcement.service_type.items()
                if key in {"name", "description", "identifier"} and value
            }
        handover = Handover(
            submission_id=uuid.UUID(announcement.submission_id),
            portal_id=announcement.client_id,
            metadata=metadata,
            data=data,
            attachments={},
            correlation_id=f"fit-connect:{announcement.case_id}",
            case_id=announcement.case_id,
        )
        return handover, received

    async def _streamed(
        announcement: Announcement, uploads: dict[str, Upload]
    ) -> tuple[dict[str, SealedPart], dict[str, str]]:
        """Each attachment's JWE, as sealed on upload, decrypted as it streams into a new
        sealed blob (none kept unless every one decrypted and verified); the blobs and the
        JWEs' authentication tags."""
        vault = ports.vault()
        submission = uuid.UUID(announcement.submission_id)
        private_key_of = _private_keys(announcement)
        sealed: dict[str, SealedPart] = {}
        tags: dict[str, str] = {}
        try:
            for attachment_id, upload in uploads.items():
                decryptor = JweDecryptor(private_key_of, ports.max_part_bytes)
                plaintext = decrypted_stream(vault.stream(submission, upload.blob), decryptor)
                try:
                    part = await vault.put_stream(submission, plaintext, ports.max_part_bytes)
                except (JweError, BlobTooLargeError) as error:
                    raise _unprocessable(
                        "encryption-invalid",
                        "Decryption failed",
                        f"attachment {attachment_id}: {error}.",
                    ) from None
                sealed[attachment_id] = part
                tags[attachment_id] = decryptor.authentication_tag
        except BaseException:
            await asyncio.to_thread(vault.discard, [part.blob for part in sealed.values()])
            raise
        return sealed, tags

    return router


JWE_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=."
"""The bytes of ``CreateAttachment`` (``^[a-zA-Z0-9-_=.]+$``)."""


JWE_DOTS = 4
"""A compact JWE has five parts."""


class NotCompactError(Exception):
    """An uploaded attachment has a byte that no compact JWE has."""


async def _chunks(request: Request, dots: list[int]) -> AsyncIterator[bytes]:
    """The body's chunks, each checked against the JWE alphabet (nothing else is stored);
    ``dots[0]`` counts the part separators seen."""
    async for chunk in request.stream():
        if chunk.translate(None, JWE_ALPHABET):
            raise NotCompactError
        dots[0] += chunk.count(b".")
        if chunk:
            yield chunk


def _repeated(ids: list[str]) -> str | None:
    """An attachment id ``ids`` names twice (case-insensitively), if any."""
    seen: set[str] = set()
    for attachment_id in ids:
        if attachment_id.lower() in seen:
            return attachment_id.lower()
        seen.add(attachment_id.lower())
    return None


def _sender(granted: Access) -> None:
    if granted.client.kind is not ClientKind.SENDER:
        raise forbidden("Only senders send submissions.")


def _may_send(granted: Access, destination: Destination, identifier: str) -> bool:
    leika = identifier.removeprefix(LEIKA_URN)
    regions = next(
        (s.regions for s in destination.services if s.leika_key == leika),
        (),
    )
    return any(
        isinstance(scope, SendScope) and reaches(scope, leika, regions) for scope in granted.scopes
    )


def _offers(destination: Destination, identifier: str) -> bool:
    return any(service.identifier == identifier for service in destination.services)


def _reduced(announcement: Announcement) -> dict[str, Any]:
    """The ``SubmissionReduced`` answer of a submit."""
    return {
        "destinationId": announcement.destination_id,
        "submissionId": announcement.submission_id,
        "caseId": announcement.case_id,
        "attachments": list(announcement.announced),
        "serviceType": announcement.service_type,
    }


def _media_type(request: Request, expected: str) -> None:
    given = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if given != expected:
        raise FitConnectProblemError(
            415, "unsupported-media-type", "Unsupported media type", f"Send {expected}."
        )


def _bad_request(detail: str) -> FitConnectProblemError:
    return FitConnectProblemError(400, "bad-request", "Bad request", detail)


def _too_large(detail: str) -> FitConnectProblemError:
    return FitConnectProblemError(413, "too-large", "Request entity too large", detail)


def _unprocessable(slug: str, title: str, detail: str) -> FitConnectProblemError:
    return FitConnectProblemError(422, slug, title, detail)


def _refused(refused: HandoverRefusedError) -> FitConnectProblemError:
    """The intake's problems (titles only: their details may point into the content)."""
    titles = sorted({str(p.get("title", "")) for p in refused.problems if p.get("title")})
    status = refused.status if refused.status in {400, 413, 422} else 422
    return FitConnectProblemError(
        status, "submission-refused", "Submission refused", "; ".join(titles) or "Refused."
    )
