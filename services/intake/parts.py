"""Reading an HTTP submission request (multipart or JSON) into stored parts.

Parts go straight into the vault, sealed chunk by chunk; limits are enforced while
reading, so an oversize request is refused without being held in memory. Decoding and
checking the JSON parts (the metadata schema above all) is CPU-bound and runs in the
worker threads (anyio's, bounded), never on the event loop, so one large or slow request
does not hold up any other route.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request

from contracts.submission import Metadata, RoutingHint
from events.blobs import BlobTooLargeError
from services.intake.domain import IncomingSubmission, Part
from services.intake.errors import malformed, too_large
from services.intake.json_form import (
    JsonForm,
    body_too_large,
    load_json_body,
    loads,
    parse_json_form,
    store_json_form,
)
from services.intake.metadata import parse_metadata, parse_routing
from services.intake.sealing import PartSink
from services.intake.settings import IntakeSettings
from services.intake.upload import read_form

CHUNK = 1024 * 1024


async def _upload_chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK):
        yield chunk


async def read_multipart(
    request: Request, sink: PartSink, settings: IntakeSettings
) -> IncomingSubmission:
    """Parts ``metadata`` (JSON), ``data`` (file), ``attachment`` (files), ``routing`` (JSON).

    ``metadata`` and ``routing`` may come as plain fields or as (JSON) file parts.
    """
    form = await read_form(request, settings)
    try:
        metadata_raw = form.get("metadata")
        data = form.get("data")
        if metadata_raw is None or data is None:
            raise malformed("multipart parts 'metadata' and 'data' are required")
        uploads = form.getlist("attachment")
        if len(uploads) > settings.max_attachments:
            raise too_large(f"at most {settings.max_attachments} attachments")
        limit = settings.max_metadata_bytes
        metadata_text = await _json_text(metadata_raw, "metadata", limit)
        routing_raw = form.get("routing")
        routing_text = (
            await _json_text(routing_raw, "routing", limit) if routing_raw is not None else None
        )
        document, metadata, routing = await run_in_threadpool(
            _check_json_parts, metadata_text, routing_text, settings
        )
        total = 0
        data_part = await _store(sink, data, settings.max_attachment_bytes)
        total += data_part.size
        by_hash = {a.hash.content: a.attachment_id for a in metadata.content_structure.attachments}
        attachments: dict[str, Part] = {}
        for index, upload in enumerate(uploads):
            part = await _store(sink, upload, settings.max_attachment_bytes)
            total += part.size
            if total > settings.max_total_bytes:
                raise too_large(f"the submission exceeds {settings.max_total_bytes} bytes")
            attachments[by_hash.get(part.sha512, f"undeclared-{index}")] = part
        return IncomingSubmission(
            sink.submission_id, metadata, document, data_part, attachments, routing
        )
    finally:
        await form.close()


async def _json_text(part: str | UploadFile, name: str, limit: int) -> str | bytes:
    """The text of a form field, or of a file part of at most ``limit`` bytes."""
    if not isinstance(part, UploadFile):
        return part
    content = await part.read(limit + 1)
    if len(content) > limit:
        raise too_large(f"'{name}' exceeds {limit} bytes")
    return content


def _check_json_parts(
    metadata_text: str | bytes, routing_text: str | bytes | None, settings: IntakeSettings
) -> tuple[Any, Metadata, RoutingHint | None]:
    """Decode and check the metadata and routing parts (CPU-bound: run it in a thread)."""
    document = loads(metadata_text, "metadata")
    routing_document = loads(routing_text, "routing") if routing_text is not None else None
    metadata = parse_metadata(document, settings)
    return document, metadata, parse_routing(routing_document, settings)


async def _store(sink: PartSink, upload: str | UploadFile, limit: int) -> Part:
    if not isinstance(upload, UploadFile):
        raise malformed("'data' and 'attachment' must be file parts")
    try:
        return await sink.put_stream(_upload_chunks(upload), limit)
    except BlobTooLargeError:
        raise too_large(f"a part exceeds {limit} bytes") from None


async def read_json(
    request: Request, sink: PartSink, settings: IntakeSettings
) -> IncomingSubmission:
    """The JSON form (see :mod:`services.intake.json_form`), read within the body limit."""
    return await store_json_form(sink, await read_json_form(request, settings))


async def read_json_form(request: Request, settings: IntakeSettings) -> JsonForm:
    """The JSON form decoded and checked, its parts in memory (nothing stored yet)."""
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > settings.max_json_body_bytes:
            raise body_too_large(settings)
    return await asyncio.to_thread(_parse_json, body, settings)  # CPU-bound: off the loop


def _parse_json(body: bytearray, settings: IntakeSettings) -> JsonForm:
    return parse_json_form(load_json_body(body, settings), settings)
