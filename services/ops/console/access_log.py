"""The ops API's side of the access log: the stated purpose of a read, and the log's route.

An operator states why they look with the query parameter ``purpose`` or the header
``Amtsweg-Purpose`` (the parameter wins; use it for text beyond ASCII, since headers are
read as Latin-1). ``GET /ops/access-log`` shows the entries, newest first, and is itself
recorded (``what`` is ``access-log``). An operator scoped to tenants sees the entries of
its tenants' submissions and its own entries that name no submission.
"""

# No ``from __future__ import annotations``: FastAPI must see the dependency aliases made
# inside ``create_access_log_router`` when the route is defined.

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query
from fastapi.concurrency import run_in_threadpool

from services.intake.errors import ProblemError
from services.ops.actions.access_log import (
    Access,
    AccessLog,
    AccessQuery,
    Channel,
    Read,
    stated,
)
from services.ops.console.scoping import Scoping

MAX_PURPOSE = 500
PURPOSE_HEADER = "Amtsweg-Purpose"


def stated_purpose(
    purpose: Annotated[
        str | None,
        Query(
            max_length=MAX_PURPOSE,
            description="why you read this (recorded in the access log; default: not stated)",
        ),
    ] = None,
    header: Annotated[
        str | None,
        Header(
            alias=PURPOSE_HEADER,
            max_length=MAX_PURPOSE,
            description="the purpose, when not given as the query parameter",
        ),
    ] = None,
) -> str:
    """The purpose of this read as given, else ``not stated``; a 400 problem when it holds
    control characters (it is stored and shown as one line)."""
    given = purpose if purpose is not None else header
    if given is not None and not given.isprintable():
        raise ProblemError.single(
            400, "malformed-request", "Malformed request", "The purpose has control characters."
        )
    return stated(given)


Purpose = Annotated[str, Depends(stated_purpose)]


async def record_read(
    log: AccessLog,
    operator: str,
    what: Read,
    purpose: str,
    submission_id: UUID | None = None,
) -> None:
    """Append the entry of one read through the ops API (before its answer is sent)."""
    await run_in_threadpool(
        lambda: log.record(
            operator, what, channel=Channel.HTTP, purpose=purpose, submission_id=submission_id
        )
    )


def _epoch(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def create_access_log_router(
    log: AccessLog, operator: Callable[..., str], scoping: Scoping
) -> APIRouter:
    """``/access-log``, for an ops router that authenticates operators with ``operator``
    and scopes them with ``scoping``."""
    router = APIRouter()
    Operator = Annotated[str, Depends(operator)]  # noqa: N806 - a type alias
    Moment = Annotated[  # noqa: N806 - a type alias
        datetime | None, Query(description="ISO 8601 (UTC when no offset is given)")
    ]

    @router.get("/access-log")
    async def read_access_log(  # noqa: PLR0917 - query parameters
        reader: Operator,
        purpose: Purpose,
        submission: UUID | None = None,
        operator: Annotated[str | None, Query(description="entries of this operator")] = None,
        since: Moment = None,
        until: Moment = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        """Who read which submission, what, why and when: newest first (recorded too)."""
        scope = await run_in_threadpool(scoping.scope, reader)
        if submission is not None and not await run_in_threadpool(
            scoping.sees_submission, scope, submission
        ):
            raise ProblemError.single(404, "not-found", "Not found", f"No submission {submission}.")
        submission_id = None if submission is None else str(submission)
        query = AccessQuery(submission_id, operator, _epoch(since), _epoch(until), limit)
        entries = await run_in_threadpool(log.entries, query)
        if not scope.everything:
            entries = await run_in_threadpool(_in_scope, scoping, reader, entries)
        await record_read(log, reader, Read.ACCESS_LOG, purpose, submission)
        return {"count": len(entries), "entries": [entry.as_json() for entry in entries]}

    return router


def _in_scope(scoping: Scoping, reader: str, entries: list[Access]) -> list[Access]:
    scope = scoping.scope(reader)
    seen: dict[str, bool] = {}

    def shown(entry: Access) -> bool:
        if entry.submission_id is None:
            return entry.operator == reader
        if entry.submission_id not in seen:
            seen[entry.submission_id] = scoping.sees_submission(scope, UUID(entry.submission_id))
        return seen[entry.submission_id]

    return [entry for entry in entries if shown(entry)]
