"""The portal-facing HTTP API (FastAPI): ``/v1/submissions``.

Errors are RFC 7807 problem documents, never stack traces.
"""

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

import structlog
from fastapi import Depends, FastAPI, Header, Query, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from contracts.problems import Problem
from contracts.submission import (
    Link,
    SubmissionAccepted,
    SubmissionRequest,
    SubmissionStatus,
    TrailEvent,
    TrailPage,
)
from events.ledger import Ledger, SubmissionNotFoundError
from events.submission import Submission
from events.vault import Vault
from services.intake import identifiers
from services.intake.auth import authenticate
from services.intake.confirmation import ConfirmationPorts
from services.intake.confirmation_http import mount_confirmation
from services.intake.domain import IncomingSubmission, submission_id_for
from services.intake.errors import ProblemError
from services.intake.openapi import (
    ACCEPTED_EXAMPLE,
    PROBLEM_JSON,
    STATUS_EXAMPLE,
    TRAIL_EXAMPLE,
    install_openapi,
    json_schema_for_openapi,
    problem_responses,
    submission_request_body,
)
from services.intake.parts import read_json, read_multipart
from services.intake.receive import Arrival, GroupCommit
from services.intake.replies_http import ReplyPorts, mount_replies
from services.intake.sealing import PartSink
from services.intake.settings import IntakeSettings
from services.intake.supplements_http import mount_supplements
from services.intake.upload import body_limit, check_declared_length
from services.intake.web.docs_page import mount_docs
from services.intake.web.header_limit import HeaderLimit
from services.intake.web.in_flight import InFlightLimit
from services.intake.web.security_headers import SecurityHeaders

log = structlog.get_logger(__name__)

portal_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="portalToken",
    description="The portal's bearer token (configured as its SHA-256).",
)


def _problem_response(
    status: int, problem: Problem, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _links(submission_id: UUID, *, confirmation: bool) -> dict[str, Link]:
    base = f"/v1/submissions/{submission_id}"
    links = {"self": Link(href=base), "events": Link(href=f"{base}/events")}
    if confirmation:
        links["confirmation"] = Link(href=f"{base}/confirmation")
    return links


def create_app(  # noqa: PLR0915 - one route each
    ledger: Ledger,
    vault: Vault,
    settings: IntakeSettings,
    confirmations: ConfirmationPorts | None = None,
    replies: ReplyPorts | None = None,
    *,
    on_overload: Callable[[], None] | None = None,
) -> FastAPI:
    """The intake API, wired to a ledger and a vault; with ``confirmations``, it answers
    the signed proof of receipt at ``GET /v1/submissions/{id}/confirmation``, with
    ``replies`` the authority's replies at ``GET /v1/submissions/{id}/replies``;
    ``on_overload`` is called for each write request refused ``503`` (backpressure)."""
    group_commit = GroupCommit(ledger, vault)
    app = FastAPI(
        title="Amtsweg",
        version="1",
        description="Submission backbone for German e-government services.",
        docs_url=None,  # mount_docs: no script from a CDN on the console's origin
        redoc_url=None,
    )
    app.add_middleware(
        InFlightLimit,
        max_requests=settings.http_max_in_flight,
        retry_after_seconds=settings.http_retry_after_seconds,
        on_refused=on_overload,
    )
    app.add_middleware(HeaderLimit, max_bytes=settings.http_max_header_bytes)
    app.add_middleware(SecurityHeaders)  # outermost: also on the header limit's answers
    mount_docs(app)
    app.state.ready = False
    request_schema, request_definitions = json_schema_for_openapi(SubmissionRequest)
    install_openapi(app, request_definitions)

    def portal(
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Security(portal_bearer)],
    ) -> str:
        return authenticate(request.headers.get("authorization"), settings.portal_tokens)

    def owned(submission_id: UUID, portal_id: str) -> Submission:
        try:
            submission = ledger.get_submission(submission_id)
        except SubmissionNotFoundError:
            submission = None
        if submission is None or submission.portal_id != portal_id:  # another's: not found
            raise ProblemError.single(
                404,
                "submission-not-found",
                "Submission not found",
                f"No submission {submission_id}.",
            )
        return submission

    @app.exception_handler(ProblemError)
    async def on_problem(_: Request, error: ProblemError) -> JSONResponse:
        return _problem_response(error.status, error.document(), error.headers)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors()[:20]]
        problem = Problem.of(
            "malformed-request",
            "Malformed request",
            status=400,
            detail="See errors.",
            errors=errors,
        )
        return _problem_response(400, problem)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed"}.get(error.status_code, "http-error")
        problem = Problem.of(slug, str(error.detail), status=error.status_code)
        return _problem_response(error.status_code, problem)

    @app.exception_handler(ClientDisconnect)
    async def on_disconnect(_: Request, __: ClientDisconnect) -> JSONResponse:
        log.info("intake.client_disconnected")  # mid-body: nothing was recorded
        problem = Problem.of("request-incomplete", "Request incomplete", status=400)
        return _problem_response(400, problem)

    @app.exception_handler(RecursionError)
    async def on_too_deep(_: Request, __: RecursionError) -> JSONResponse:
        log.warning("intake.too_deeply_nested")  # a backstop: the intake's bounds come first
        problem = Problem.of("too-deeply-nested", "Too deeply nested", status=422)
        return _problem_response(422, problem)

    @app.exception_handler(Exception)
    async def on_unexpected(_: Request, error: Exception) -> JSONResponse:
        log.error("intake.unexpected_error", error_type=type(error).__name__, exc_info=error)
        problem = Problem.of("internal-error", "Internal error", status=500)
        return _problem_response(500, problem)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        ready = bool(app.state.ready)
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    @app.post(
        "/v1/submissions",
        status_code=202,
        response_model=SubmissionAccepted,
        response_model_by_alias=True,
        responses={
            202: {
                "description": "Received: the submission is recorded (or was, for a retry).",
                "content": {"application/json": {"example": ACCEPTED_EXAMPLE}},
                "headers": {
                    "Location": {
                        "description": "the submission's status resource",
                        "schema": {"type": "string"},
                    }
                },
            },
            **problem_responses(400, 401, 409, 413, 415, 422),
        },
        openapi_extra={"requestBody": submission_request_body(request_schema)},
    )
    async def post_submission(
        request: Request,
        portal_id: Annotated[str, Depends(portal)],
        key: Annotated[
            str | None,
            Header(alias="Idempotency-Key", max_length=identifiers.MAX_IDEMPOTENCY_KEY),
        ] = None,
        correlation: Annotated[
            str | None,
            Header(
                alias="X-Correlation-Id",
                description="your id for this request, recorded with the submission and "
                f"in its log lines (printable ASCII, at most {identifiers.MAX_CORRELATION_ID})",
            ),
        ] = None,
    ) -> JSONResponse:
        idempotency_key = identifiers.idempotency_key(key)
        correlation_id = identifiers.correlation_id(correlation)
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        check_declared_length(request, body_limit(media_type, settings))
        if media_type not in ("multipart/form-data", "application/json"):
            raise ProblemError.single(
                415,
                "unsupported-media-type",
                "Unsupported media type",
                "Send multipart/form-data or application/json.",
            )
        incoming = await _read_parts(request, media_type, portal_id, idempotency_key)
        arrival = Arrival(incoming, portal_id, idempotency_key, correlation_id)
        result = await group_commit.receive(arrival)
        log.info(
            "intake.received" if result.created else "intake.replayed",
            submission_id=str(result.submission_id),
            correlation_id=correlation_id,
            portal_id=portal_id,
        )
        body = SubmissionAccepted(
            submission_id=str(result.submission_id),
            status=result.status,
            links=_links(result.submission_id, confirmation=confirmations is not None),
        )
        return JSONResponse(
            body.model_dump(by_alias=True),
            status_code=202,
            headers={"Location": f"/v1/submissions/{result.submission_id}"},
        )

    async def _read_parts(
        request: Request, media_type: str, portal_id: str, idempotency_key: str | None
    ) -> IncomingSubmission:
        """The request's parts, sealed into the vault (only hashed for a retry)."""
        submission_id = submission_id_for(portal_id, idempotency_key)
        recorded = idempotency_key is not None and await run_in_threadpool(
            ledger.exists, submission_id
        )
        sink = PartSink(vault, submission_id, keep=not recorded)
        read = read_multipart if media_type == "multipart/form-data" else read_json
        try:
            incoming = await read(request, sink, settings)
            return await run_in_threadpool(sink.seal_dossier, incoming)
        except BaseException:
            await run_in_threadpool(sink.discard)
            raise

    @app.get(
        "/v1/submissions/{submission_id}",
        response_model=SubmissionStatus,
        response_model_by_alias=True,
        responses={
            200: {"content": {"application/json": {"example": STATUS_EXAMPLE}}},
            **problem_responses(400, 401, 404),
        },
    )
    async def get_submission(
        submission_id: UUID, portal_id: Annotated[str, Depends(portal)]
    ) -> dict[str, Any]:
        submission = await run_in_threadpool(owned, submission_id, portal_id)
        return SubmissionStatus(
            submission_id=str(submission.id),
            status=submission.status.value,
            service_identifier=submission.service_identifier,
            authority_id=submission.authority_id,
            delivery_id=submission.delivery_id,
            received_at=submission.created_on.isoformat(),
            updated_at=submission.updated_at_iso,
            problems=submission.problems,
            links=_links(submission.id, confirmation=confirmations is not None),
        ).model_dump(by_alias=True)

    @app.get(
        "/v1/submissions/{submission_id}/events",
        response_model=TrailPage,
        response_model_by_alias=True,
        responses={
            200: {"content": {"application/json": {"example": TRAIL_EXAMPLE}}},
            **problem_responses(400, 401, 404),
        },
    )
    async def get_events(
        submission_id: UUID,
        portal_id: Annotated[str, Depends(portal)],
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> dict[str, Any]:
        await run_in_threadpool(owned, submission_id, portal_id)
        trail = await run_in_threadpool(ledger.trail, submission_id)
        page = trail[offset : offset + limit]
        return TrailPage(
            offset=offset,
            count=len(page),
            total_count=len(trail),
            events=[
                TrailEvent(
                    version=e.version,
                    event=e.event,
                    timestamp=e.timestamp,
                    hash=e.hash,
                    prev_hash=e.prev_hash,
                    data=_public(_without_operator(e.event, e.data)),
                )
                for e in page
            ],
        ).model_dump(by_alias=True)

    if confirmations is not None:
        mount_confirmation(app, confirmations, ledger, portal, owned)
    mount_supplements(app, ledger, vault, settings, portal, owned, confirmations)
    if replies is not None:
        mount_replies(app, replies, ledger=ledger, vault=vault, portal=portal, owned=owned)
    return app


_PRIVATE = {"envelope", "request_digest", "dossier", "findings"}


def _public(data: dict[str, Any]) -> dict[str, object]:
    """Event data a portal may see: the vault's references are nobody's business outside
    (the parts show their hash and size, not their blob names)."""
    shown: dict[str, object] = {k: v for k, v in data.items() if k not in _PRIVATE}
    if isinstance(data.get("data"), dict):
        shown["data"] = _part(data["data"])
    if isinstance(data.get("attachments"), list):
        shown["attachments"] = [_part(a) for a in data["attachments"] if isinstance(a, dict)]
    if isinstance(data.get("parts"), list):  # a reply's or a supplement's documents
        shown["parts"] = [_part(p) for p in data["parts"] if isinstance(p, dict)]
    return shown


def _part(part: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in part.items() if k != "blob"}


_OPERATOR_EVENTS = frozenset({"Replayed", "Redelivered", "CallbackRequeued", "Assigned"})
_OPERATOR_FIELDS = frozenset({"actor", "by", "reason", "request_id"})
"""Who did an operator action, their free-text reason and their request id."""


def _without_operator(event: str, data: dict[str, Any]) -> dict[str, Any]:
    """An operator event's data without :data:`_OPERATOR_FIELDS`: operators' names and
    reasons are the operations' business, not the portal's (the ops API shows them).

    An operator event is one of :data:`_OPERATOR_EVENTS` or any event naming an ``actor``
    or a ``by`` (``ContentErased``: its legal basis stays); the ``reason`` of other events
    is a stage's code (``no-competence``) and stays.
    """
    if event in _OPERATOR_EVENTS or "actor" in data or "by" in data:
        return {k: v for k, v in data.items() if k not in _OPERATOR_FIELDS}
    return data
