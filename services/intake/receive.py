"""The intake use case: record a portal's submission once, whatever the retries."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import RecordConflictError

from events.ledger import Ledger
from events.submission import Submission
from events.vault import Vault
from services.intake.domain import (
    IncomingSubmission,
    hash_problems,
    received_fields,
    request_digest,
)
from services.intake.errors import ProblemError


@dataclass(frozen=True)
class IntakeResult:
    """What the intake answers: the submission and whether this request created it."""

    submission_id: UUID
    status: str
    created: bool


@dataclass(frozen=True)
class Arrival:
    """One submission to receive: its stored parts and who sent it."""

    incoming: IncomingSubmission
    portal_id: str
    idempotency_key: str | None
    correlation_id: str
    case_id: str | None = None
    """The case the submission belongs to (None: it opens one of its own)."""


def receive(ledger: Ledger, vault: Vault, arrival: Arrival) -> IntakeResult:
    """Record Received, or return the submission an earlier identical request created.

    What the request wrote to the vault is discarded when it is refused or was a retry.
    """
    try:
        result = _receive(ledger, arrival)
    except ProblemError:
        vault.discard(arrival.incoming.written())
        raise
    if not result.created:
        vault.discard(arrival.incoming.written())
    return result


def _receive(ledger: Ledger, arrival: Arrival) -> IntakeResult:
    incoming = arrival.incoming
    problems = hash_problems(incoming)
    if problems:
        raise ProblemError(422, problems)
    submission_id = incoming.submission_id
    if arrival.idempotency_key is not None and ledger.exists(submission_id):
        return _replayed(ledger, submission_id, incoming)
    submission = _new_submission(ledger, arrival)
    try:
        ledger.save(submission)
    except RecordConflictError:
        if arrival.idempotency_key is None:
            raise
        return _replayed(ledger, submission_id, incoming)  # a concurrent retry won the race
    return IntakeResult(submission_id, submission.status.value, created=True)


def _new_submission(ledger: Ledger, arrival: Arrival) -> Submission:
    """The Received submission (its parts and dossier are sealed already)."""
    incoming = arrival.incoming
    if incoming.dossier is None:
        msg = f"submission {incoming.submission_id}: its parts were not sealed"
        raise ValueError(msg)
    return Submission.receive(
        incoming.submission_id,
        chain=ledger.chain_keys,
        case_id=arrival.case_id,
        **received_fields(incoming, arrival.portal_id, arrival.correlation_id),
    )


def receive_many(
    ledger: Ledger, vault: Vault, arrivals: Sequence[Arrival]
) -> list[IntakeResult | ProblemError]:
    """``receive`` for many submissions, the new ones saved in one ledger transaction.

    Each arrival gets its result or its problem, in order; a copy later in the batch is
    answered as a retry of the first. A concurrent write (another intake received one of
    them meanwhile) makes the batch fall back to one ``receive`` per arrival. What a
    refused or repeated arrival wrote to the vault is discarded.
    """
    new: dict[UUID, Submission] = {}
    results = [_answer(_receive_pending, ledger, arrival, new) for arrival in arrivals]
    if new:
        try:
            ledger.save(*new.values())
        except RecordConflictError:
            return [_answer(_receive_alone, ledger, vault, arrival) for arrival in arrivals]
    for arrival, result in zip(arrivals, results, strict=True):
        if isinstance(result, ProblemError) or not result.created:
            vault.discard(arrival.incoming.written())
    return results


def _answer(
    receiving: Callable[..., IntakeResult], *arguments: object
) -> IntakeResult | ProblemError:
    try:
        return receiving(*arguments)
    except ProblemError as problem:
        return problem


def _receive_alone(ledger: Ledger, vault: Vault, arrival: Arrival) -> IntakeResult:
    return receive(ledger, vault, arrival)


def _receive_pending(ledger: Ledger, arrival: Arrival, new: dict[UUID, Submission]) -> IntakeResult:
    problems = hash_problems(arrival.incoming)
    if problems:
        raise ProblemError(422, problems)
    submission_id = arrival.incoming.submission_id
    pending = new.get(submission_id)
    if pending is not None:
        return _same_request(pending, arrival.incoming, submission_id)
    if arrival.idempotency_key is not None and ledger.exists(submission_id):
        return _replayed(ledger, submission_id, arrival.incoming)
    new[submission_id] = _new_submission(ledger, arrival)
    return IntakeResult(submission_id, new[submission_id].status.value, created=True)


def _replayed(ledger: Ledger, submission_id: UUID, incoming: IncomingSubmission) -> IntakeResult:
    return _same_request(ledger.get_submission(submission_id), incoming, submission_id)


def _same_request(
    existing: Submission, incoming: IncomingSubmission, submission_id: UUID
) -> IntakeResult:
    """The earlier submission's result if this is the same request; a 409 otherwise."""
    if existing.request_digest != request_digest(incoming):
        raise ProblemError.single(
            409,
            "idempotency-key-reused",
            "Idempotency key reused with a different request",
            "This Idempotency-Key was used before with another body; use a new key.",
        )
    return IntakeResult(submission_id, existing.status.value, created=False)


class GroupCommit:
    """Receives concurrent requests in shared ledger transactions (a group commit).

    While one transaction is being written, the requests arriving meanwhile wait and are
    written together in the next; a lone request is written at once. Each request gets
    its own result or problem, as ``receive`` would have answered it.
    """

    def __init__(self, ledger: Ledger, vault: Vault, max_batch: int = 100) -> None:
        self._ledger = ledger
        self._vault = vault
        self._max_batch = max_batch
        self._waiting: list[tuple[Arrival, asyncio.Future[IntakeResult]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def receive(self, arrival: Arrival) -> IntakeResult:
        """The result for ``arrival`` once its transaction is committed."""
        future: asyncio.Future[IntakeResult] = asyncio.get_running_loop().create_future()
        self._waiting.append((arrival, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        while self._waiting:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            try:
                answers = await asyncio.to_thread(
                    receive_many, self._ledger, self._vault, [arrival for arrival, _ in batch]
                )
            except Exception as error:  # noqa: BLE001 - each waiting request raises it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), answer in zip(batch, answers, strict=True):
                if future.done():  # the client went away; the submission stays received
                    continue
                if isinstance(answer, ProblemError):
                    future.set_exception(answer)
                else:
                    future.set_result(answer)
