"""``POST /v1/validations``: the pipeline's checks while the citizen fills in the form.

The request is a submission as ``POST /v1/submissions`` takes it (multipart or JSON, the
same limits, the portal's token). It is read by the same code, but into memory instead of
the vault: the metadata and routing hint are checked as at intake, the data's hash
against the metadata, and then :class:`ContentCheck` (wired by the composition root to
validation's catalog and routing's directory) runs what the pipeline would decide later.
Attachments that are sent are hashed; declared ones not sent yet are not a problem here
(the form may not have them yet). Nothing is stored, nothing recorded, and the log line
holds the portal, the outcome and the versions only.
"""

# No ``from __future__ import annotations``: FastAPI must see the dependency ``portal``.
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol
from uuid import uuid4

import structlog
from fastapi import Depends, FastAPI, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from contracts.problems import Problem, problem_type
from contracts.submission import Metadata, RoutingHint, SubmissionRequest
from events.blobs import check_size
from services.intake.auth import authenticate
from services.intake.domain import IncomingSubmission, Part, hash_problems
from services.intake.errors import ProblemError
from services.intake.openapi import (
    json_schema_for_openapi,
    problem_responses,
    submission_request_body,
)
from services.intake.parts import read_json_form, read_multipart
from services.intake.sealing import PartSink
from services.intake.settings import IntakeSettings
from services.intake.upload import body_limit, check_declared_length

log = structlog.get_logger(__name__)

VALID_EXAMPLE = {
    "valid": True,
    "catalogVersion": "2026.11+…",
    "schemaUri": "urn:xoev-de:xdomea:schema:3.0.0",
    "directoryVersion": "…",
    "routing": {
        "outcome": "routed",
        "authorityId": "jobcenter-koeln",
        "authorityName": "Jobcenter Köln",
        "region": "053150000000",
        "area": "05315",
    },
}

NOT_SENT_YET = problem_type("attachment-missing")
"""The one intake problem a validation does not raise: the form may not have it yet."""


@dataclass(frozen=True)
class Probe:
    """What a validation checks: the parsed metadata and hint, and the data itself."""

    metadata: Metadata
    routing: RoutingHint | None
    data: bytes
    received_at: datetime


@dataclass(frozen=True)
class Checked:
    """The answer: ``problems`` empty when the pipeline would validate it; ``routing``
    says whether (and to whom) it would be routed, ``None`` when it was not asked
    because validation already failed."""

    catalog_version: str
    problems: list[Problem]
    schema_uri: str | None = None
    directory_version: str | None = None
    routing: dict[str, Any] | None = None


class ContentCheck(Protocol):
    """The pipeline's decisions on a probe, without recording anything (CPU-bound)."""

    def __call__(self, probe: Probe) -> Checked: ...


class ProbeSink(PartSink):
    """Holds the data part of a multipart request in memory and only hashes the rest;
    seals nothing. ``read_multipart`` puts the data before any attachment."""

    def __init__(self) -> None:
        super().__init__(_NO_VAULT, uuid4(), keep=False)
        self.data: bytes | None = None

    def put(self, content: bytes) -> Part:
        if self.data is None:
            self.data = bytes(content)
        return Part(hashlib.sha512(content).hexdigest(), len(content))

    async def put_stream(self, chunks: AsyncIterator[bytes], max_size: int) -> Part:
        if self.data is not None:
            return await super().put_stream(chunks, max_size)
        content = bytearray()
        async for chunk in chunks:
            check_size(len(content) + len(chunk), max_size)
            content.extend(chunk)
        return self.put(bytes(content))

    def seal_dossier(self, incoming: IncomingSubmission) -> IncomingSubmission:
        return incoming  # checked by the route, without the parts not sent yet

    def discard(self) -> None:
        self.data = None


class _NoVault:
    """The probe sink never writes: a vault it could call would be a mistake."""

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"a validation stores nothing (vault.{name})")


_NO_VAULT: Any = _NoVault()


def mount_validations(app: FastAPI, settings: IntakeSettings, check: ContentCheck) -> None:
    """Add ``POST /v1/validations`` to the intake ``app``."""
    from services.intake.http import portal_bearer  # noqa: PLC0415 - the intake's scheme

    request_schema, _ = json_schema_for_openapi(SubmissionRequest)

    def portal(
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Security(portal_bearer)],
    ) -> str:
        return authenticate(request.headers.get("authorization"), settings.portal_tokens)

    @app.post(
        "/v1/validations",
        tags=["submissions"],
        responses={
            200: {
                "description": "The pipeline would validate it; ``routing`` says where to.",
                "content": {"application/json": {"example": VALID_EXAMPLE}},
            },
            **problem_responses(400, 401, 413, 415, 422),
        },
        openapi_extra={"requestBody": submission_request_body(request_schema)},
    )
    async def post_validation(
        request: Request, portal_id: Annotated[str, Depends(portal)]
    ) -> JSONResponse:
        """Check a submission as the pipeline would, store nothing (call it on every form
        step): the same request as ``POST /v1/submissions``, the same problems."""
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        check_declared_length(request, body_limit(media_type, settings))
        if media_type not in ("multipart/form-data", "application/json"):
            raise ProblemError.single(
                415,
                "unsupported-media-type",
                "Unsupported media type",
                "Send multipart/form-data or application/json.",
            )
        if media_type == "multipart/form-data":
            sink = ProbeSink()
            incoming = _checked(await read_multipart(request, sink, settings))
            assert sink.data is not None
            data = sink.data
        else:
            form = await read_json_form(request, settings)
            incoming, data = _checked(form.incoming(uuid4())), form.data
        probe = Probe(incoming.metadata, incoming.routing, data, datetime.now(UTC))
        checked = await run_in_threadpool(check, probe)
        log.info(
            "intake.validation_checked",
            portal_id=portal_id,
            outcome="invalid" if checked.problems else "valid",
            routed=None if checked.routing is None else checked.routing.get("outcome"),
            catalog_version=checked.catalog_version,
        )
        if checked.problems:
            raise ProblemError(422, checked.problems)
        return JSONResponse(_answer(checked))


def _checked(incoming: IncomingSubmission) -> IncomingSubmission:
    """The intake's hash checks, except for attachments the form has not sent yet."""
    problems = [p for p in hash_problems(incoming) if p.type != NOT_SENT_YET]
    if problems:
        raise ProblemError(422, problems)
    return incoming


def _answer(checked: Checked) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "valid": True,
        "catalogVersion": checked.catalog_version,
        "schemaUri": checked.schema_uri,
    }
    if checked.directory_version is not None:
        answer["directoryVersion"] = checked.directory_version
    if checked.routing is not None:
        answer["routing"] = checked.routing
    return answer
