"""The intake use case: record a portal's submission once, whatever the retries."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import RecordConflictError

from events.ledger import Ledger
from events.submission import Submission
from services.intake.domain import (
    IncomingSubmission,
    hash_problems,
    received_fields,
    request_digest,
    submission_id_for,
)
from services.intake.errors import ProblemError


@dataclass(frozen=True)
class Receipt:
    """What the intake answers: the submission and whether this request created it."""

    submission_id: UUID
    status: str
    created: bool


def receive(
    ledger: Ledger,
    incoming: IncomingSubmission,
    portal_id: str,
    idempotency_key: str | None,
    correlation_id: str,
) -> Receipt:
    """Record Received, or return the submission an earlier identical request created."""
    problems = hash_problems(incoming)
    if problems:
        raise ProblemError(422, problems)
    submission_id = submission_id_for(portal_id, idempotency_key)
    if idempotency_key is not None and ledger.exists(submission_id):
        return _replayed(ledger, submission_id, incoming)
    submission = Submission.receive(
        submission_id, **received_fields(incoming, portal_id, idempotency_key, correlation_id)
    )
    try:
        ledger.save(submission)
    except RecordConflictError:
        if idempotency_key is None:
            raise
        return _replayed(ledger, submission_id, incoming)  # a concurrent retry won the race
    return Receipt(submission_id, submission.status.value, created=True)


def _replayed(ledger: Ledger, submission_id: UUID, incoming: IncomingSubmission) -> Receipt:
    existing = ledger.get_submission(submission_id)
    if existing.request_digest != request_digest(incoming):
        raise ProblemError.single(
            409,
            "idempotency-key-reused",
            "Idempotency key reused with a different request",
            "This Idempotency-Key was used before with another body; use a new key.",
        )
    return Receipt(submission_id, existing.status.value, created=False)
