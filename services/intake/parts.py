"""Reading a submission request (multipart or JSON) into stored parts.

Parts go straight to the blob store, chunk by chunk; limits are enforced while
reading, so an oversize request is refused without being held in memory.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request

from contracts.submission import Metadata, RoutingHint, SubmissionRequest
from events.blobs import BlobStore, BlobTooLargeError
from services.intake.domain import IncomingSubmission, Part
from services.intake.errors import ProblemError
from services.intake.settings import IntakeSettings

CHUNK = 1024 * 1024


def _too_large(detail: str) -> ProblemError:
    return ProblemError.single(413, "payload-too-large", "Payload too large", detail)


def _invalid(detail: str, errors: list[dict[str, Any]] | None = None) -> ProblemError:
    error = ProblemError.single(400, "malformed-request", "Malformed request", detail)
    if errors:
        error.problems = [error.problems[0].model_copy(update={"errors": errors})]
    return error


def parse_metadata(document: Any) -> Metadata:
    """FIT-Connect metadata from a parsed JSON document; a 422 problem when it does not fit."""
    try:
        return Metadata.model_validate(document)
    except ValidationError as error:
        raise ProblemError.single(
            422,
            "invalid-metadata",
            "Invalid metadata",
            "; ".join(
                f"{'/'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:20]
            ),
        ) from None


def _routing(document: Any) -> RoutingHint | None:
    if document is None:
        return None
    try:
        return RoutingHint.model_validate(document)
    except ValidationError as error:
        raise ProblemError.single(
            422, "invalid-routing-hint", "Invalid routing hint", str(error.errors()[0]["msg"])
        ) from None


async def _upload_chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK):
        yield chunk


async def read_multipart(
    request: Request, blobs: BlobStore, settings: IntakeSettings
) -> IncomingSubmission:
    """Parts ``metadata`` (JSON), ``data`` (file), ``attachment`` (files), ``routing`` (JSON)."""
    async with request.form(
        max_files=settings.max_attachments + 1,
        max_fields=10,
        max_part_size=settings.max_metadata_bytes,
    ) as form:
        metadata_raw = form.get("metadata")
        data = form.get("data")
        if metadata_raw is None or data is None:
            raise _invalid("multipart parts 'metadata' and 'data' are required")
        metadata_text = (
            (await metadata_raw.read()).decode()
            if isinstance(metadata_raw, UploadFile)
            else metadata_raw
        )
        try:
            document = json.loads(metadata_text)
            routing_raw = form.get("routing")
            routing_doc = json.loads(str(routing_raw)) if routing_raw is not None else None
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise _invalid(f"metadata or routing is not JSON: {error}") from None
        metadata = parse_metadata(document)
        total = 0
        data_part = await _store(blobs, data, settings.max_attachment_bytes)
        total += data_part.size
        by_hash = {a.hash.content: a.attachment_id for a in metadata.content_structure.attachments}
        attachments: dict[str, Part] = {}
        for index, upload in enumerate(form.getlist("attachment")):
            part = await _store(blobs, upload, settings.max_attachment_bytes)
            total += part.size
            if total > settings.max_total_bytes:
                raise _too_large(f"the submission exceeds {settings.max_total_bytes} bytes")
            attachments[by_hash.get(part.sha512, f"undeclared-{index}")] = part
        return IncomingSubmission(metadata, document, data_part, attachments, _routing(routing_doc))


async def _store(blobs: BlobStore, upload: str | UploadFile, limit: int) -> Part:
    if not isinstance(upload, UploadFile):
        raise _invalid("'data' and 'attachment' must be file parts")
    try:
        ref = await blobs.put_stream(_upload_chunks(upload), limit)
    except BlobTooLargeError:
        raise _too_large(f"a part exceeds {limit} bytes") from None
    return Part(ref.sha512, ref.size)


async def read_json(
    request: Request, blobs: BlobStore, settings: IntakeSettings
) -> IncomingSubmission:
    """The JSON form: metadata plus base64 data and attachments."""
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > settings.max_json_body_bytes:
            raise _too_large(
                f"JSON bodies are limited to {settings.max_json_body_bytes} bytes; use multipart"
            )
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise _invalid(f"body is not JSON: {error}") from None
    metadata = parse_metadata(document.get("metadata") if isinstance(document, dict) else None)
    try:
        parsed = SubmissionRequest.model_validate(document)
    except ValidationError as error:
        raise _invalid(
            "the body does not follow the submission format",
            [{"loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors()[:20]],
        ) from None
    if len(parsed.attachments) > settings.max_attachments:
        raise _too_large(f"at most {settings.max_attachments} attachments")
    data = blobs.put(_b64(parsed.data, "data"))
    attachments = {
        a.attachment_id: _part(blobs.put(_b64(a.content, a.attachment_id)))
        for a in parsed.attachments
    }
    return IncomingSubmission(
        metadata, document["metadata"], _part(data), attachments, parsed.routing
    )


def _b64(value: str, name: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(f"{name} is not valid base64") from None


def _part(ref: Any) -> Part:
    return Part(ref.sha512, ref.size)
