"""The ops HTTP API (``/ops/…``) behind the web console; for operators only.

Every route needs an operator's bearer token (``AMTSWEG_OPERATOR_TOKENS`` holds their
SHA-256) and answers within the operator's tenants (``AMTSWEG_OPERATOR_SCOPES``, see
:mod:`services.ops.console.scoping`): a submission out of scope is not found. Actions
are recorded with that operator's name as actor, reads of submissions (a submission, its
verification, the lists) in the access log with the stated purpose.
Errors are RFC 7807 problems. Lists and counters come from the overview read model,
caught up on each call.
"""

import asyncio
import dataclasses
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from events.ledger import Ledger, SubmissionNotFoundError
from events.lifecycle import InvalidTransitionError
from events.relay_store import RelayStore
from events.shards import shard_name
from events.vault import ContentErasedError
from services.intake.auth import authenticate
from services.intake.errors import ProblemError
from services.ops.actions.access_log import AccessLog, Read
from services.ops.actions.dead_letters import (
    BrokerUnavailableError,
    DeadLetters,
    LetterNotFoundError,
    NotRetryableError,
)
from services.ops.actions.operator_actions import redeliver
from services.ops.actions.relay_replay import MAIN_RELAY
from services.ops.actions.replay import (
    RecordedVersionUnavailableError,
    StaleReplayError,
    plan_replay,
    record_replay,
)
from services.ops.actions.replay_stages import Against, ReplayContext, Stage
from services.ops.actions.verify import check_submission
from services.ops.console.access_log import Purpose, create_access_log_router, record_read
from services.ops.console.scoping import Scoping
from services.ops.console.settings import OperatorSettings
from services.ops.console.triage import TriageQueue
from services.ops.readmodels.case_timeline import CaseNotFoundError, load_case
from services.ops.readmodels.overview.projector import OverviewProjector
from services.ops.readmodels.overview.rows import Filters, SubmissionRow
from services.ops.readmodels.timeline import timeline
from services.ops.tenants.scope import OperatorScope

operator_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="operatorToken",
    description="An operator's bearer token (configured as its SHA-256).",
)


@dataclass
class OpsDependencies:
    """What the ops API works with."""

    ledger: Ledger
    overview: OverviewProjector
    dead_letters: DeadLetters
    relay_store: RelayStore
    replay_context: ReplayContext
    settings: OperatorSettings
    access_log: AccessLog
    scoping: Scoping
    triage: TriageQueue | None = None


class _Body(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class ReplayRequest(_Body):
    """Run a stage again for one submission."""

    stage: Stage
    against: Against = Against.RECORDED
    reason: str = Field(default="", max_length=500)
    dry_run: bool = Field(default=False, alias="dryRun")
    request_id: str | None = Field(default=None, alias="requestId", max_length=100)


class ActionRequest(_Body):
    """An operator action with its reason."""

    reason: str = Field(min_length=1, max_length=500)
    request_id: str | None = Field(default=None, alias="requestId", max_length=100)


class AssignRequest(_Body):
    """Assign an authority to an unroutable submission."""

    authority_id: str = Field(alias="authorityId", min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)


def _camel(fields: dict[str, Any]) -> dict[str, Any]:
    def name(key: str) -> str:
        first, *rest = key.split("_")
        return first + "".join(part.title() for part in rest)

    return {name(key): value for key, value in fields.items()}


def row_json(row: SubmissionRow) -> dict[str, Any]:
    """An overview row as JSON (camelCase)."""
    return _camel(dataclasses.asdict(row))


def _not_found(what: str) -> ProblemError:
    return ProblemError.single(404, "not-found", "Not found", what)


def _conflict(detail: str) -> ProblemError:
    return ProblemError.single(409, "action-refused", "Action refused", detail)


def _erased(submission_id: UUID) -> ProblemError:
    return ProblemError.single(
        410,
        "content-erased",
        "Content erased",
        f"The content of submission {submission_id} was erased; its trail remains.",
    )


def create_ops_router(deps: OpsDependencies) -> APIRouter:  # noqa: PLR0915 - one route each
    """The ``/ops`` routes."""

    def operator(
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Security(operator_bearer)],
    ) -> str:
        return authenticate(request.headers.get("authorization"), deps.settings.operator_tokens)

    Operator = Annotated[str, Depends(operator)]  # noqa: N806 - a type alias
    scoping = deps.scoping

    def scoped(name: Operator) -> OperatorScope:
        return scoping.scope(name)

    Scope = Annotated[OperatorScope, Depends(scoped)]  # noqa: N806 - a type alias

    def visible(submission_id: UUID, scope: Scope) -> UUID:
        if not scoping.sees_submission(scope, submission_id):
            raise _not_found(f"No submission {submission_id}.")
        return submission_id

    Visible = Annotated[UUID, Depends(visible)]  # noqa: N806 - a type alias
    router = APIRouter(prefix="/ops", tags=["operations"], dependencies=[Depends(scoped)])

    async def caught_up() -> OverviewProjector:
        await run_in_threadpool(deps.overview.catch_up)
        return deps.overview

    @router.get("/submissions")
    async def list_submissions(  # noqa: PLR0917 - query parameters
        reader: Operator,
        scope: Scope,
        purpose: Purpose,
        status: str | None = None,
        service: str | None = None,
        authority: str | None = None,
        portal: str | None = None,
        case: Annotated[str | None, Query(description="the submissions of this case")] = None,
        since: Annotated[float | None, Query(description="seconds since the epoch")] = None,
        until: Annotated[float | None, Query(description="seconds since the epoch")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
        after: Annotated[
            UUID | None,
            Query(
                description="list the submissions after this one (the last of the page "
                "before: its answer's `next`); a page this way costs the same at any depth"
            ),
        ] = None,
    ) -> dict[str, Any]:
        """Submissions matching the filters, newest first. ``next`` names the last one
        listed when the page is full: ``after`` it is the next page."""
        filters = Filters(status, service, authority, portal, since, until, case)
        filters = await run_in_threadpool(scoping.filters, scope, filters)
        projector = await caught_up()
        cursor = None if after is None else str(after)
        rows = await run_in_threadpool(projector.store.select, filters, limit, offset, cursor)
        total = await run_in_threadpool(projector.store.count, filters)
        await record_read(deps.access_log, reader, Read.LIST, purpose)
        tenants = scoping.tenants

        def listed(row: SubmissionRow) -> dict[str, Any]:
            of = tenants.of(row.portal_id, row.authority_id)
            return {**row_json(row), "tenants": sorted(of.all)}

        listing = await run_in_threadpool(lambda: [listed(r) for r in rows])
        following = rows[-1].submission_id if len(rows) == limit else None
        return {"total": total, "offset": offset, "next": following, "submissions": listing}

    @router.get("/submissions/{submission_id}")
    async def get_submission(
        submission_id: Visible, reader: Operator, purpose: Purpose
    ) -> dict[str, Any]:
        """A submission's status and its trail as a timeline."""
        try:
            submission = await run_in_threadpool(deps.ledger.get_submission, submission_id)
            trail = await run_in_threadpool(deps.ledger.trail, submission_id)
        except SubmissionNotFoundError:
            raise _not_found(f"No submission {submission_id}.") from None
        await record_read(deps.access_log, reader, Read.TRAIL, purpose, submission_id)
        return {
            "submissionId": str(submission_id),
            "status": str(submission.status),
            "portalId": submission.portal_id,
            "serviceIdentifier": submission.service_identifier,
            "authorityId": submission.authority_id,
            "deliveryId": submission.delivery_id,
            "receivedAt": submission.created_on.isoformat(),
            "updatedAt": submission.updated_at_iso,
            "problems": submission.problems,
            "caseId": submission.case_id,
            "tenants": sorted(
                scoping.tenants.of(submission.portal_id, submission.authority_id).all
            ),
            "timeline": [_camel(dataclasses.asdict(line)) for line in timeline(trail)],
        }

    @router.get("/v1/cases/{case_ref}")
    async def get_case(
        case_ref: UUID, reader: Operator, scope: Scope, purpose: Purpose
    ) -> dict[str, Any]:
        """A case on one timeline (``case_ref``: the case id, or the id of one of its
        submissions): its submissions, its requests for documents (``openRequests``: not
        answered yet) and the events of every submission, merged by time. Ids, kinds,
        states and deadlines only, never content. Each submission's trail read is an
        access log entry; an operator sees the submissions of its tenants only."""

        def keep(submission: Any) -> bool:
            return scoping.tenants.sees(scope, submission.portal_id, submission.authority_id)

        try:
            case = await run_in_threadpool(load_case, deps.ledger, deps.overview, case_ref, keep)
        except CaseNotFoundError:
            raise _not_found(f"No case or submission {case_ref}.") from None
        for submission in case.submissions:
            await record_read(
                deps.access_log, reader, Read.CASE, purpose, UUID(submission.submission_id)
            )
        return case.as_json()

    @router.get("/submissions/{submission_id}/verify")
    async def verify(submission_id: Visible, reader: Operator, purpose: Purpose) -> dict[str, Any]:
        """Check the submission's hash chain and the relay's witness."""
        try:
            link = await run_in_threadpool(
                check_submission, deps.ledger, deps.relay_store, submission_id
            )
        except SubmissionNotFoundError:
            raise _not_found(f"No submission {submission_id}.") from None
        await record_read(deps.access_log, reader, Read.VERIFY, purpose, submission_id)
        broken = None if link is None else _camel(dataclasses.asdict(link))
        return {
            "submissionId": str(submission_id),
            "intact": link is None,
            "firstBrokenLink": broken,
        }

    @router.post("/submissions/{submission_id}/replay")
    async def replay(
        submission_id: Visible, body: ReplayRequest, actor: Operator
    ) -> dict[str, Any]:
        """Run a stage again (``dryRun``: only show what would change)."""
        if not body.dry_run and not body.reason.strip():
            raise ProblemError.single(
                422, "reason-required", "Reason required", "A replay records its reason."
            )
        request_id = body.request_id or str(uuid.uuid4())
        try:
            plan = await run_in_threadpool(
                plan_replay,
                deps.ledger,
                deps.replay_context,
                submission_id,
                body.stage,
                body.against,
            )
            written = None
            if not body.dry_run and plan.outcome is not None:
                written = await run_in_threadpool(
                    lambda: record_replay(
                        deps.ledger, plan, actor=actor, reason=body.reason, request_id=request_id
                    )
                )
        except SubmissionNotFoundError:
            raise _not_found(f"No submission {submission_id}.") from None
        except ContentErasedError:
            raise _erased(submission_id) from None
        except (RecordedVersionUnavailableError, StaleReplayError, InvalidTransitionError) as error:
            raise _conflict(str(error)) from None
        return {
            "submissionId": str(submission_id),
            "stage": str(plan.stage),
            "against": str(plan.against),
            "status": str(plan.status),
            "version": plan.version,
            "recorded": plan.recorded,
            "decision": plan.decision,
            "outcome": plan.outcome,
            "note": plan.note,
            "events": plan.events,
            "dryRun": body.dry_run,
            "written": written,
            "requestId": request_id,
        }

    @router.post("/submissions/{submission_id}/redeliver")
    async def redeliver_submission(
        submission_id: Visible, body: ActionRequest, actor: Operator
    ) -> dict[str, Any]:
        """Announce the open delivery again (same delivery id, a new notice)."""
        request_id = body.request_id or str(uuid.uuid4())
        try:
            written = await run_in_threadpool(
                lambda: redeliver(
                    deps.ledger,
                    submission_id,
                    actor=actor,
                    reason=body.reason,
                    request_id=request_id,
                )
            )
        except SubmissionNotFoundError:
            raise _not_found(f"No submission {submission_id}.") from None
        except ContentErasedError:
            raise _erased(submission_id) from None
        except InvalidTransitionError as error:
            raise _conflict(str(error)) from None
        return {"submissionId": str(submission_id), "written": written, "requestId": request_id}

    @router.get("/counters")
    async def counters(scope: Scope) -> dict[str, Any]:
        """Submissions per status, dead letters and triage waiting (of the operator's
        tenants), relay position."""
        projector = await caught_up()
        among = await run_in_threadpool(scoping.tenants.among, scope)
        statuses = await run_in_threadpool(projector.store.status_counts, among)
        if scope.everything:
            letters = await _letter_counts(deps.dead_letters)
        else:
            letters = await _scoped_letter_counts(deps.dead_letters, scoping, scope)
        head = await run_in_threadpool(projector.head)
        relay = await run_in_threadpool(_relay_positions, deps)  # of every shard's relay
        return {
            "statuses": statuses,
            "total": sum(statuses.values()),
            "deadLetters": letters,
            "triage": statuses.get("unroutable", 0),
            "relay": {"position": relay, "head": head, "lag": max(0, head - relay)},
        }

    @router.get("/throughput")
    async def throughput(
        minutes: Annotated[int, Query(ge=5, le=1440)] = 60,
    ) -> dict[str, Any]:
        """Events per minute over the last ``minutes`` minutes, per event name."""
        projector = await caught_up()
        now = int(time.time() // 60)
        first = now - minutes + 1
        rows = await run_in_threadpool(projector.store.throughput, first)
        series: dict[str, list[int]] = defaultdict(lambda: [0] * minutes)
        for minute, event, count in rows:
            if first <= minute <= now:
                series[event][minute - first] += count
        return {"from": first * 60, "minutes": minutes, "series": dict(series)}

    @router.get("/dead-letters")
    async def list_dead_letters(
        reader: Operator, scope: Scope, purpose: Purpose, kind: str | None = None
    ) -> dict[str, Any]:
        """Dead letters waiting for an operator (intake, delivery, parked)."""
        letters = deps.dead_letters
        try:
            waiting = await letters.waiting(kind)  # without a broker: all but intake
        except BrokerUnavailableError as error:
            raise ProblemError.single(
                503, "broker-unavailable", "Broker unavailable", str(error)
            ) from None
        await record_read(deps.access_log, reader, Read.DEAD_LETTERS, purpose)
        seen = [w for w in waiting if await run_in_threadpool(scoping.sees_letter, scope, w)]
        return {
            "intakeAvailable": letters.has_broker,
            "letters": [letter.as_json() for letter in seen],
        }

    @router.post("/dead-letters/{letter_id}/{action}")
    async def handle_dead_letter(
        letter_id: str, action: str, body: ActionRequest, actor: Operator, scope: Scope
    ) -> dict[str, Any]:
        """``retry`` or ``drop`` a dead letter."""
        letters = deps.dead_letters
        if action not in {"retry", "drop"}:
            raise _not_found(f"No action {action!r}: retry or drop.")
        handle = letters.retry if action == "retry" else letters.drop
        try:
            if not scope.everything:
                await _require_letter(letters, scoping, scope, letter_id)
            letter = await handle(letter_id, actor=actor, reason=body.reason)
        except LetterNotFoundError as error:
            raise _not_found(f"No dead letter waiting: {error}.") from None
        except (NotRetryableError, InvalidTransitionError) as error:
            raise _conflict(str(error)) from None
        except BrokerUnavailableError as error:
            raise ProblemError.single(
                503, "broker-unavailable", "Broker unavailable", str(error)
            ) from None
        return {"letter": letter.as_json(), "action": action, "actor": actor}

    @router.get("/triage")
    async def triage(
        reader: Operator,
        scope: Scope,
        purpose: Purpose,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> dict[str, Any]:
        """Unroutable submissions waiting for an operator (routing's triage queue)."""
        if deps.triage is None:
            return {"available": False, "submissions": []}
        keep = None if scope.everything else scoping.keep(scope)
        waiting = await run_in_threadpool(deps.triage.waiting, limit, keep)
        await record_read(deps.access_log, reader, Read.TRIAGE, purpose)
        return {"available": True, "submissions": waiting}

    @router.post("/triage/{submission_id}/assign")
    async def assign(
        submission_id: Visible, body: AssignRequest, actor: Operator
    ) -> dict[str, Any]:
        """Assign an authority to an unroutable submission (routing records it)."""
        queue = deps.triage
        if queue is None:
            raise ProblemError.single(
                503, "triage-unavailable", "Triage unavailable", "Triage is not wired here."
            )
        try:
            return await run_in_threadpool(
                lambda: queue.assign(
                    submission_id, body.authority_id, actor=actor, reason=body.reason
                )
            )
        except SubmissionNotFoundError:
            raise _not_found(f"No submission {submission_id}.") from None
        except (InvalidTransitionError, LookupError) as error:
            raise _conflict(str(error)) from None

    router.include_router(create_access_log_router(deps.access_log, operator, scoping))
    return router


async def _require_letter(
    letters: DeadLetters, scoping: Scoping, scope: OperatorScope, letter_id: str
) -> None:
    """``LetterNotFoundError`` unless a waiting letter with this id is in scope."""
    for letter in await letters.waiting():
        if letter.letter_id == letter_id and scoping.sees_letter(scope, letter):
            return
    raise LetterNotFoundError(letter_id)


async def _scoped_letter_counts(
    letters: DeadLetters, scoping: Scoping, scope: OperatorScope
) -> dict[str, int | None]:
    """The waiting letters of the scope's tenants, per kind (read, not from offsets)."""
    try:
        async with asyncio.timeout(10):
            waiting = await letters.waiting()
    except (TimeoutError, BrokerUnavailableError):
        return {"intake": None, "delivery": None, "parked": None}
    counts = {"intake": 0, "delivery": 0, "parked": 0}
    for letter in waiting:
        if letter.kind in counts and scoping.sees_letter(scope, letter):
            counts[letter.kind] += 1
    return {
        "intake": counts["intake"] if letters.has_broker else None,
        **{kind: counts[kind] for kind in ("delivery", "parked")},
    }


async def _letter_counts(letters: DeadLetters) -> dict[str, int | None]:
    try:
        async with asyncio.timeout(10):
            counts = await letters.counts()
    except (TimeoutError, BrokerUnavailableError):
        return {"intake": None, "delivery": None, "parked": None}
    return {
        "intake": counts["intake"] if counts["intake"] >= 0 else None,
        "delivery": counts["delivery"],
        "parked": counts["parked"],
    }


def _relay_positions(deps: OpsDependencies) -> int:
    """The sum of the shards' relay positions (against the sum of their heads: the lag)."""
    shards = range(len(deps.ledger.shards))
    return sum(deps.relay_store.position(shard_name(MAIN_RELAY, shard)) for shard in shards)
