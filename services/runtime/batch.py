"""A stage worker's batch: many submission events, one ledger transaction.

For each message of a batch the worker loads the submission once, runs the stage's step
on it (a state-machine step that returns None when the submission is already past it: a
message delivered again changes nothing), and saves every submission the batch changed in
one ledger transaction. A concurrent write by another member of the group (a version
conflict) makes the batch fall back to one transaction per submission, each reloaded and
decided anew. Nothing here knows Kafka: :mod:`services.runtime.worker` feeds the batches.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.persistence import RecordConflictError

from events.ledger import Ledger, SubmissionNotFoundError
from events.submission import Submission

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What a step did to one submission, logged once the batch is committed."""

    event: str
    """The log event, e.g. ``validation.decided``."""
    changed: bool
    fields: dict[str, Any] = field(default_factory=dict)
    then: Callable[[], Awaitable[object]] | None = None
    """Asynchronous work after the commit (e.g. a handover over HTTP), awaited in order."""


Step = Callable[[Submission], Outcome | None]
"""One stage's work on a loaded submission: appends its events, or returns None."""


@dataclass(frozen=True)
class Work:
    """One consumed message, as the step to run on its submission."""

    submission_id: UUID
    causation_id: str
    step: Step
    source: str = ""
    """Where the message is (``<topic>/<partition>/<offset>``), to name it when parked."""
    event: str | None = None
    """The event the message announces (``Received`` …)."""


def perform(
    ledger: Ledger, stage: str, works: Sequence[Work], steps: Executor | None = None
) -> list[Outcome | None]:
    """Run every step, save every changed submission in one transaction, log the outcomes.

    With ``steps`` (a thread pool), the submissions of a batch are stepped at once, each
    submission's messages one after the other in their order: for a stage whose step
    waits on storage (delivery seals each envelope, a file synced to disk).
    """
    loaded: dict[UUID, Submission] = {}
    outcomes: list[Outcome | None] = [None] * len(works)
    by_submission: dict[UUID, list[int]] = {}
    for index, work in enumerate(works):
        by_submission.setdefault(work.submission_id, []).append(index)

    def step_all(indices: list[int]) -> None:
        for index in indices:
            with log_context(works[index], stage):
                outcomes[index] = _run(ledger, loaded, works[index])

    if steps is None or len(by_submission) < 2:  # one submission: nothing to overlap
        for indices in by_submission.values():
            step_all(indices)
    else:  # each in a copy of this context: the log's bound ids stay the batch's
        running = [
            steps.submit(contextvars.copy_context().run, step_all, indices)
            for indices in by_submission.values()
        ]
        for future in running:
            future.result()  # the first failure fails the batch (isolate bisects it)
    changed = [s for s in loaded.values() if s.pending_events]
    try:
        if changed:
            ledger.save(*changed)
    except RecordConflictError:  # another member wrote one of them: one at a time, anew
        log.info("stage.batch_conflict", stage=stage, submissions=len(changed))
        outcomes = [_execute_alone(ledger, stage, work) for work in works]
    for work, outcome in zip(works, outcomes, strict=True):
        if outcome is not None:
            with log_context(work, stage, loaded[work.submission_id].correlation_id):
                log.info(outcome.event, changed=outcome.changed, **outcome.fields)
    return outcomes


def perform_one(ledger: Ledger, submission_id: UUID, step: Step) -> Outcome | None:
    """One submission alone, in its own transaction (``SubmissionNotFoundError`` if unknown)."""
    outcome = ledger.execute(submission_id, step)
    if outcome is not None:
        log.info(outcome.event, changed=outcome.changed, **outcome.fields)
    return outcome


def log_context(work: Work, stage: str, correlation_id: str | None = None) -> Any:
    """The ids every log line about ``work`` carries."""
    return structlog.contextvars.bound_contextvars(
        submission_id=str(work.submission_id),
        causation_id=work.causation_id,
        stage=stage,
        correlation_id=correlation_id,
    )


def _run(ledger: Ledger, loaded: dict[UUID, Submission], work: Work) -> Outcome | None:
    submission = loaded.get(work.submission_id)
    if submission is None:
        try:
            submission = ledger.get_submission(work.submission_id)
        except SubmissionNotFoundError:  # not in this ledger: retrying cannot help
            log.error("stage.unknown_submission")  # noqa: TRY400 - no trace needed
            return None
        loaded[work.submission_id] = submission
    structlog.contextvars.bind_contextvars(correlation_id=submission.correlation_id)
    return work.step(submission)


def _execute_alone(ledger: Ledger, stage: str, work: Work) -> Outcome | None:
    with log_context(work, stage):
        try:
            return ledger.execute(work.submission_id, work.step)
        except SubmissionNotFoundError:
            log.error("stage.unknown_submission")  # noqa: TRY400 - no trace needed
            return None
