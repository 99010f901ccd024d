"""Replaying a stage for a submission: decide again, compare, record what happened.

Every replay that is recorded is a ``Replayed`` event (stage, actor, reason, the catalog
or directory version used, and the outcome), saved in one go with the decision it leads
to, if any:

- the stage had not decided yet (the submission waits for it): ``decided``, and the
  stage's own event follows (Validated, Rejected, Routed, Unroutable, Dispatched);
- the same decision as recorded: ``unchanged`` — recorded, so the trail shows that it
  was checked, by whom and why, and that nothing changed;
- another decision where the stage had failed (Rejected, Unroutable): ``changed``, and
  the new decision follows; the relay publishes it and the next stage goes on;
- another decision where the submission is past the stage: ``differs``, recorded and not
  applied — a success is never taken back (authorities may have the application).

A replay never makes a second Validated, Routed or Dispatched of a success. Each replay
request has an id (one per command run); the same id again for a submission records
nothing, so a command that was cut off can be run again with its id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from events.ledger import Ledger
from events.lifecycle import (
    REPLAY_CHANGED,
    REPLAY_DECIDED,
    REPLAY_DIFFERS,
    REPLAY_FAILURE,
    REPLAY_INPUT,
    REPLAY_UNCHANGED,
    Status,
)
from events.submission import Submission
from services.ops.actions.replay_stages import (
    Against,
    Decision,
    Recorded,
    ReplayContext,
    Stage,
    decide_again,
    recorded,
    same,
)
from services.routing.archive import UnknownDirectoryVersionError
from services.routing.context import RoutingContext

_REACHED = {
    Stage.VALIDATION: set(Status),
    Stage.ROUTING: set(Status) - {Status.RECEIVED, Status.REJECTED},
    Stage.DELIVERY: set(Status)
    - {Status.RECEIVED, Status.VALIDATED, Status.REJECTED, Status.UNROUTABLE},
}
"""Statuses at which a stage has decided or is waiting to."""


class RecordedVersionUnavailableError(Exception):
    """The catalog or directory version a replay "against recorded" needs is not loaded."""


class StaleReplayError(Exception):
    """The submission changed between deciding and recording; run the replay again."""


@dataclass(frozen=True)
class ReplayPlan:
    """What a replay of one stage for one submission finds (and would record)."""

    submission_id: UUID
    stage: Stage
    against: Against
    status: str
    version: str | None
    recorded: str | None
    decision: str | None
    outcome: str | None
    """decided, unchanged, changed, differs; None: the stage does not apply."""
    note: str = ""
    submission_version: int = 0
    events: list[str] = field(default_factory=list)
    """The events recording it would append."""
    pending: Decision | None = field(default=None, repr=False, compare=False)
    """The new decision, ready to be recorded."""


def plan_replay(
    ledger: Ledger, context: ReplayContext, submission_id: UUID, stage: Stage, against: Against
) -> ReplayPlan:
    """Decide the stage again and compare; writes nothing (a dry run is just this)."""
    submission = ledger.get_submission(submission_id)
    status = submission.status
    if status not in _REACHED[stage]:
        note = f"the submission is {status}: it never reached {stage}"
        return ReplayPlan(submission_id, stage, against, status, None, None, None, None, note)
    trail = ledger.trail(submission_id)
    before = recorded(stage, trail)
    version = context.version(stage)
    directory = None
    if against is Against.RECORDED and before is not None and before.version not in (None, version):
        version, directory = _recorded_version(submission_id, stage, before.version, context)
    decision = decide_again(stage, submission, trail, context, directory)
    outcome = _outcome(stage, status, decision, before)
    events = ["Replayed"] + ([_event_of(decision)] if outcome in _APPLIED else [])
    return ReplayPlan(
        submission_id,
        stage,
        against,
        status=status,
        version=version,
        recorded=before.summary if before else None,
        decision=decision.summary,
        outcome=outcome,
        note=_NOTES[outcome],
        submission_version=submission.version,
        events=events,
        pending=decision,
    )


def record_replay(
    ledger: Ledger, plan: ReplayPlan, *, actor: str, reason: str, request_id: str
) -> bool:
    """Record the planned replay; False if this request was recorded for it already."""
    if plan.outcome is None or plan.pending is None:
        return False
    decision, outcome = plan.pending, plan.outcome

    def command(submission: Submission) -> bool:
        if request_id in submission.operator_requests:
            return False
        if submission.version != plan.submission_version:
            msg = f"{plan.submission_id} changed while it was replayed; replay it again"
            raise StaleReplayError(msg)
        submission.replay(
            plan.stage,
            request_id,
            actor=actor,
            reason=reason,
            against=plan.against,
            version=plan.version or "",
            outcome=outcome,
            decision=decision.summary,
        )
        if outcome in _APPLIED and not decision.record(submission):
            msg = f"{plan.submission_id}: the {plan.stage} decision was not taken"
            raise StaleReplayError(msg)
        return True

    return ledger.execute(plan.submission_id, command)


def _recorded_version(
    submission_id: UUID, stage: Stage, version: str | None, context: ReplayContext
) -> tuple[str, RoutingContext | None]:
    """The recorded version and, for routing, its directory from routing's archive."""
    assert version is not None
    if stage is Stage.ROUTING:
        try:
            return version, context.routing_at(version)
        except UnknownDirectoryVersionError as error:
            msg = f"{submission_id}: {error}; replay against the current directory instead"
            raise RecordedVersionUnavailableError(msg) from error
    msg = (
        f"{submission_id}: {stage} was decided with catalog {version}, the configured one is "
        f"{context.version(stage)}; set AMTSWEG_VALIDATION_CATALOG to that release, or replay "
        "against the current one"
    )
    raise RecordedVersionUnavailableError(msg)


_APPLIED = {REPLAY_DECIDED, REPLAY_CHANGED}
_NOTES = {
    REPLAY_DECIDED: "the stage had not decided yet: its decision is recorded",
    REPLAY_UNCHANGED: "the same decision as recorded: nothing changes",
    REPLAY_CHANGED: "the stage's failure is decided anew",
    REPLAY_DIFFERS: "another decision, not applied: the submission is past this stage",
}


def _outcome(stage: Stage, status: Status, decision: Decision, before: Recorded | None) -> str:
    if status is REPLAY_INPUT[stage]:
        return REPLAY_DECIDED
    assert before is not None, "a stage past its input has recorded a decision"
    if same(decision, before):
        return REPLAY_UNCHANGED
    if status is REPLAY_FAILURE.get(stage):
        return REPLAY_CHANGED
    return REPLAY_DIFFERS


def _event_of(decision: Decision) -> str:
    return {
        "validated": "Validated",
        "rejected": "Rejected",
        "routed": "Routed",
        "unroutable": "Unroutable",
        "dispatched": "Dispatched",
        "withheld": "Withheld",
    }.get(decision.kind, decision.kind)
