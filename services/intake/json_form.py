"""The JSON form of a submission (metadata plus base64 parts), shared by HTTP and Kafka.

``POST /v1/submissions`` with ``application/json`` and a message on ``amtsweg.intake``
carry the same document; both are read here, so both refuse the same input with the
same problem. Reading is pure; :func:`store_json_form` seals the parts into the vault,
and only once their hashes match the metadata, so refused input leaves no blob.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from contracts.submission import Metadata, RoutingHint, SubmissionRequest
from services.intake.domain import IncomingSubmission, Part, hash_problems
from services.intake.errors import ProblemError, malformed, too_large
from services.intake.limits import check_depth
from services.intake.metadata import parse_metadata, parse_routing
from services.intake.sealing import PartSink
from services.intake.settings import IntakeSettings

MAX_FORMAT_ERRORS = 20


@dataclass(frozen=True)
class JsonForm:
    """A checked JSON-form submission whose parts are decoded but not yet stored."""

    request: SubmissionRequest
    metadata: Metadata
    metadata_document: dict[str, Any]
    data: bytes
    attachments: dict[str, bytes]
    """attachmentId -> content"""
    routing: RoutingHint | None

    def incoming(self, submission_id: UUID) -> IncomingSubmission:
        """The submission these parts make (hashes computed here, nothing stored)."""
        return IncomingSubmission(
            submission_id,
            self.metadata,
            self.metadata_document,
            _part(self.data),
            {attachment_id: _part(content) for attachment_id, content in self.attachments.items()},
            self.routing,
        )


def loads(text: str | bytes | bytearray, name: str) -> Any:
    """A JSON document, or a 400 problem naming what was not JSON.

    Refused as well, before the ledger or a receiver chokes on them: Python's ``NaN`` and
    ``Infinity``, numbers beyond a float, and escaped lone UTF-16 surrogates
    (``"\\ud800"``), which are no Unicode text.
    """
    try:
        document = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
        if _may_escape_a_surrogate(text):
            json.dumps(document, ensure_ascii=False).encode()
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeError
        raise malformed(f"{name} is not JSON: {error}") from None
    return document


def _no_constant(name: str) -> float:
    """``NaN`` and ``Infinity`` are Python's extensions, not JSON (RFC 8259)."""
    msg = f"{name} is not a JSON number"
    raise ValueError(msg)


def _finite(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):  # 1e400 overflows to infinity
        msg = f"{literal[:40]} is out of range"
        raise ValueError(msg)
    return number


def _may_escape_a_surrogate(text: str | bytes | bytearray) -> bool:
    if isinstance(text, str):
        return "\\ud" in text or "\\uD" in text
    return b"\\ud" in text or b"\\uD" in text


def load_json_body(body: bytes | bytearray, settings: IntakeSettings) -> dict[str, Any]:
    """The JSON object of a body within ``max_json_body_bytes`` and the nesting bound.

    The body holds the metadata one level down and attachments two: it may nest two
    levels more than ``max_metadata_depth``.
    """
    if len(body) > settings.max_json_body_bytes:
        raise body_too_large(settings)
    document = loads(body, "the body")
    if not isinstance(document, dict):
        raise malformed("the body must be a JSON object")
    check_depth(document, "the body", settings.max_metadata_depth + 2)
    return document


def body_too_large(settings: IntakeSettings) -> ProblemError:
    """A 413 problem: the JSON body (or message) exceeds ``max_json_body_bytes``."""
    return too_large(
        f"JSON bodies are limited to {settings.max_json_body_bytes} bytes; use multipart"
    )


def parse_json_form(
    document: dict[str, Any],
    settings: IntakeSettings,
    model: type[SubmissionRequest] = SubmissionRequest,
) -> JsonForm:
    """Check a JSON-form document (``model`` may extend the form) and decode its parts."""
    metadata = parse_metadata(document.get("metadata"), settings)
    routing = parse_routing(document.get("routing"), settings)
    try:
        request = model.model_validate(document)
    except ValidationError as error:
        errors = error.errors(include_input=False, include_url=False)[:MAX_FORMAT_ERRORS]
        raise malformed(
            "the body does not follow the submission format",
            [{"loc": list(e["loc"]), "msg": e["msg"]} for e in errors],
        ) from None
    if len(request.attachments) > settings.max_attachments:
        raise too_large(f"at most {settings.max_attachments} attachments")
    ids = [a.attachment_id for a in request.attachments]
    if len(ids) != len(set(ids)):
        raise malformed("attachmentId values must be unique")
    data = _b64(request.data, "data")
    attachments = {a.attachment_id: _b64(a.content, a.attachment_id) for a in request.attachments}
    for name, content in (("data", data), *attachments.items()):
        if len(content) > settings.max_attachment_bytes:
            raise too_large(f"{name} exceeds {settings.max_attachment_bytes} bytes")
    return JsonForm(request, metadata, document["metadata"], data, attachments, routing)


async def store_json_form(sink: PartSink, form: JsonForm) -> IncomingSubmission:
    """Seal the parts once their hashes match the metadata (a 422 problem otherwise)."""
    return await asyncio.to_thread(store_parts, sink, form)


def store_parts(sink: PartSink, form: JsonForm) -> IncomingSubmission:
    """``store_json_form`` on the calling thread (it blocks on the vault)."""
    problems = hash_problems(form.incoming(sink.submission_id))
    if problems:
        raise ProblemError(422, problems)
    return IncomingSubmission(
        sink.submission_id,
        form.metadata,
        form.metadata_document,
        sink.put(form.data),
        {attachment_id: sink.put(content) for attachment_id, content in form.attachments.items()},
        form.routing,
    )


def _b64(value: str, name: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise malformed(f"{name} is not valid base64") from None


def _part(content: bytes) -> Part:
    return Part(hashlib.sha512(content).hexdigest(), len(content))
