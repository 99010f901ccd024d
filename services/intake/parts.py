"""Reading an HTTP submission request (multipart or JSON) into stored parts.

Parts go straight into the vault, sealed chunk by chunk; limits are enforced while
reading, so an oversize request is refused without being held in memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request

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
        document = await _json_part(metadata_raw, "metadata", limit)
        routing_raw = form.get("routing")
        routing_doc = (
            await _json_part(routing_raw, "routing", limit) if routing_raw is not None else None
        )
        metadata = parse_metadata(document, settings)
        routing = parse_routing(routing_doc, settings)
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


async def _json_part(part: str | UploadFile, name: str, limit: int) -> Any:
    """A JSON document from a form field or a file part of at most ``limit`` bytes."""
    if isinstance(part, UploadFile):
        content = await part.read(limit + 1)
        if len(content) > limit:
            raise too_large(f"'{name}' exceeds {limit} bytes")
        text: str | bytes = content
    else:
        text = part
    return loads(text, name)


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
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > settings.max_json_body_bytes:
            raise body_too_large(settings)
    form = await asyncio.to_thread(_parse_json, body, settings)  # CPU-bound: off the loop
    return await store_json_form(sink, form)


def _parse_json(body: bytearray, settings: IntakeSettings) -> JsonForm:
    return parse_json_form(load_json_body(body, settings), settings)
