"""Reading a request body within the intake's limits, before any part is stored.

A declared ``Content-Length`` over the limit is refused at once, before the body is
read; a body without one (chunked) is counted while it arrives and refused once it
passes the limit. Multipart file parts are spooled by Starlette to anonymous temporary
files in the system temp dir (``TMPDIR``; at most 1 MiB of each in memory), which
vanish when the form is closed, the parse fails or the process dies; their parts are
then copied into the blob store by the caller.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from services.intake.errors import malformed, too_large
from services.intake.settings import IntakeSettings

PART_OVERHEAD = 16 * 1024
"""Allowance per multipart part for its headers and boundary."""


def body_limit(media_type: str, settings: IntakeSettings) -> int:
    """The most bytes a request body of this media type may have."""
    if media_type == "application/json":
        return settings.max_json_body_bytes
    parts = settings.max_attachments + 3  # data, metadata, routing
    return settings.max_total_bytes + 2 * settings.max_metadata_bytes + parts * PART_OVERHEAD


def check_declared_length(request: Request, limit: int) -> None:
    """A 413 problem before reading when ``Content-Length`` already exceeds ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(f"the request body may have at most {limit} bytes")


async def _limited(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise too_large(f"the request body may have at most {limit} bytes")
        yield chunk


async def read_form(request: Request, settings: IntakeSettings) -> FormData:
    """The multipart form, its files spooled, the whole body within ``body_limit``."""
    parser = MultiPartParser(
        request.headers,
        _limited(request, body_limit("multipart/form-data", settings)),
        max_files=settings.max_attachments + 3,  # data; metadata and routing as files
        max_fields=10,
        max_part_size=settings.max_metadata_bytes,
    )
    try:
        return await parser.parse()
    except MultiPartException as error:
        raise malformed(f"the multipart body cannot be read: {error.message}") from None
