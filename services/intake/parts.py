"""Reading a submission request (multipart or JSON) into stored parts.

Parts go straight to the blob store, chunk by chunk; limits are enforced while
reading, so an oversize request is refused without being held in memory.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import AsyncIterator
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
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
    """Parts ``metadata`` (JSON), ``data`` (file), ``attachment`` (files), ``routing`` (JSON).

    ``metadata`` and ``routing`` may come as plain fields or as (JSON) file parts.
    """
    try:
        form = await request.form(
            max_files=settings.max_attachments + 3,  # data; metadata and routing as files
            max_fields=10,
            max_part_size=settings.max_metadata_bytes,
        )
    except StarletteHTTPException as error:  # Starlette's answer to an unreadable body
        raise _invalid(f"the multipart body cannot be read: {error.detail}") from None
    try:
        metadata_raw = form.get("metadata")
        data = form.get("data")
        if metadata_raw is None or data is None:
            raise _invalid("multipart parts 'metadata' and 'data' are required")
        uploads = form.getlist("attachment")
        if len(uploads) > settings.max_attachments:
            raise _too_large(f"at most {settings.max_attachments} attachments")
        limit = settings.max_metadata_bytes
        document = await _json_part(metadata_raw, "metadata", limit)
        routing_raw = form.get("routing")
        routing_doc = (
            await _json_part(routing_raw, "routing", limit) if routing_raw is not None else None
        )
        metadata = parse_metadata(document)
        total = 0
        data_part = await _store(blobs, data, settings.max_attachment_bytes)
        total += data_part.size
        by_hash = {a.hash.content: a.attachment_id for a in metadata.content_structure.attachments}
        attachments: dict[str, Part] = {}
        for index, upload in enumerate(uploads):
            part = await _store(blobs, upload, settings.max_attachment_bytes)
            total += part.size
            if total > settings.max_total_bytes:
                raise _too_large(f"the submission exceeds {settings.max_total_bytes} bytes")
            attachments[by_hash.get(part.sha512, f"undeclared-{index}")] = part
        return IncomingSubmission(metadata, document, data_part, attachments, _routing(routing_doc))
    finally:
        await form.close()


async def _json_part(part: str | UploadFile, name: str, limit: int) -> Any:
    """A JSON document from a form field or a file part of at most ``limit`` bytes."""
    if isinstance(part, UploadFile):
        content = await part.read(limit + 1)
        if len(content) > limit:
            raise _too_large(f"'{name}' exceeds {limit} bytes")
        text: str | bytes = content
    else:
        text = part
    return _loads(text, name)


def _loads(text: str | bytes | bytearray, name: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError
        raise _invalid(f"{name} is not JSON: {error}") from None


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
    document = _loads(body, "the body")
    if not isinstance(document, dict):
        raise _invalid("the body must be a JSON object")
    metadata = parse_metadata(document.get("metadata"))
    routing = _routing(document.get("routing"))
    try:
        parsed = SubmissionRequest.model_validate(document)
    except ValidationError as error:
        raise _invalid(
            "the body does not follow the submission format",
            [{"loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors()[:20]],
        ) from None
    if len(parsed.attachments) > settings.max_attachments:
        raise _too_large(f"at most {settings.max_attachments} attachments")
    ids = [a.attachment_id for a in parsed.attachments]
    if len(ids) != len(set(ids)):
        raise _invalid("attachmentId values must be unique")
    data = await asyncio.to_thread(blobs.put, _b64(parsed.data, "data"))
    attachments = {
        a.attachment_id: _part(await asyncio.to_thread(blobs.put, _b64(a.content, a.attachment_id)))
        for a in parsed.attachments
    }
    return IncomingSubmission(metadata, document["metadata"], _part(data), attachments, routing)


def _b64(value: str, name: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(f"{name} is not valid base64") from None


def _part(ref: Any) -> Part:
    return Part(ref.sha512, ref.size)
