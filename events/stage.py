"""A stage worker's batch: many submission events, one ledger transaction, one offset commit.

A worker (validation, routing, delivery) reads its topics in batches. For each message it
loads the submission once, runs the stage's step on it (a state-machine step that returns
None when the submission is already past it: a redelivery changes nothing), and saves
every submission the batch changed in one ledger transaction. Only after that commit are
the Kafka offsets committed; if anything fails, every partition of the batch is sought
back to its first message and the worker pauses (growing to a few seconds while the
failure lasts), so the batch comes again and nothing is skipped. A concurrent write by
another member of the group (a version conflict) makes the batch fall back to one
transaction per submission, each reloaded and decided anew.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import structlog
from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import IllegalStateError
from eventsourcing.persistence import RecordConflictError
from faststream import AckPolicy
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.messages import SubmissionEventMessage
from events.ledger import Ledger, SubmissionNotFoundError
from events.submission import Submission

log = structlog.get_logger(__name__)

POLL_TIMEOUT_MS = 20
"""How long an idle consumer waits for records; FastStream then sleeps as long again."""


class StageSettings(BaseSettings):
    """``AMTSWEG_STAGE_BATCH_RECORDS``: messages per batch at most (default 200).

    A batch is whatever has arrived, never waited for: under light load it is one message.
    """

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_STAGE_", extra="ignore")

    batch_records: int = Field(default=200, ge=1, le=10_000)


def subscription() -> dict[str, Any]:
    """The FastStream subscriber options every batch worker uses."""
    return {
        "batch": True,
        "max_records": StageSettings().batch_records,
        "batch_timeout_ms": POLL_TIMEOUT_MS,
        "ack_policy": AckPolicy.MANUAL,
        "decoder": undecoded,
    }


RETRY_PAUSE_MIN = 0.1
RETRY_PAUSE_MAX = 5.0


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


def perform(ledger: Ledger, stage: str, works: Sequence[Work]) -> list[Outcome | None]:
    """Run every step, save every changed submission in one transaction, log the outcomes."""
    loaded: dict[UUID, Submission] = {}
    outcomes: list[Outcome | None] = []
    for work in works:
        with _bound(work, stage):
            outcomes.append(_run(ledger, loaded, work))
    changed = [s for s in loaded.values() if s.pending_events]
    try:
        if changed:
            ledger.save(*changed)
    except RecordConflictError:  # another member wrote one of them: one at a time, anew
        log.info("stage.batch_conflict", stage=stage, submissions=len(changed))
        outcomes = [_execute_alone(ledger, stage, work) for work in works]
    for work, outcome in zip(works, outcomes, strict=True):
        if outcome is not None:
            with _bound(work, stage, loaded[work.submission_id].correlation_id):
                log.info(outcome.event, changed=outcome.changed, **outcome.fields)
    return outcomes


def perform_one(ledger: Ledger, submission_id: UUID, step: Step) -> Outcome | None:
    """One submission alone, in its own transaction (``SubmissionNotFoundError`` if unknown)."""
    outcome = ledger.execute(submission_id, step)
    if outcome is not None:
        log.info(outcome.event, changed=outcome.changed, **outcome.fields)
    return outcome


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
    with _bound(work, stage):
        try:
            return ledger.execute(work.submission_id, work.step)
        except SubmissionNotFoundError:
            log.error("stage.unknown_submission")  # noqa: TRY400 - no trace needed
            return None


def _bound(work: Work, stage: str, correlation_id: str | None = None) -> Any:
    return structlog.contextvars.bound_contextvars(
        submission_id=str(work.submission_id),
        causation_id=work.causation_id,
        stage=stage,
        correlation_id=correlation_id,
    )


Plan = Callable[[SubmissionEventMessage], Step | None]
"""The step for one event message; None for an event this stage does not handle."""


class BatchWorker:
    """One stage's FastStream batch handler (``handle``; ``batch=True``, ``AckPolicy.MANUAL``)."""

    def __init__(self, ledger: Ledger, stage: str, plan: Plan) -> None:
        self._ledger = ledger
        self._stage = stage
        self._plan = plan
        self._retry = Redelivery()

    async def handle(self, message: KafkaMessage) -> None:
        """Handle one batch: commit its offsets after the ledger, or seek back and pause."""
        await self._retry.run(message, self._stage, self._process)

    async def _process(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        works = [work for record in records if (work := self._work(record)) is not None]
        outcomes = await asyncio.to_thread(perform, self._ledger, self._stage, works)
        for work, outcome in zip(works, outcomes, strict=True):
            if outcome is not None and outcome.then is not None:
                with _bound(work, self._stage):
                    await outcome.then()

    def _work(self, record: ConsumerRecord[bytes, bytes]) -> Work | None:
        try:
            event = SubmissionEventMessage.model_validate_json(record.value or b"")
            submission_id = UUID(event.submission_id)
        except (ValidationError, ValueError) as error:  # not from our relay: skip it
            log.warning("stage.malformed_message", stage=self._stage, error=type(error).__name__)
            return None
        step = self._plan(event)
        if step is None:
            log.warning("stage.unexpected_event", stage=self._stage, event_name=event.event)
            return None
        return Work(submission_id, event.hash, step)


class Redelivery:
    """Commit a batch's offsets once it is processed; on failure seek back and pause.

    The pause doubles with every failure in a row (0.1 s up to 5 s, with jitter), so an
    unavailable ledger or broker is not hammered, and resets after a success.
    """

    def __init__(self) -> None:
        self._failures = 0

    async def run(
        self,
        message: KafkaMessage,
        stage: str,
        process: Callable[[Sequence[ConsumerRecord[bytes, bytes]]], Awaitable[None]],
    ) -> None:
        """``process`` the batch's records; its offsets are committed only if it succeeds."""
        records = batch_records(message)
        try:
            await process(records)
        except Exception:
            self._failures += 1
            pause = min(RETRY_PAUSE_MIN * 2**self._failures, RETRY_PAUSE_MAX)
            pause *= random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security
            log.exception("stage.batch_failed", stage=stage, retry_in=round(pause, 2))
            _seek_back(message, records)
            await asyncio.sleep(pause)
            return
        self._failures = 0
        await message.ack()


async def undecoded(message: StreamMessage[Any]) -> object:
    """FastStream decoder that leaves the batch as it is: handlers read the raw records.

    FastStream's batch decoder would parse every record again (and JSON-decode its value):
    wasted work, and a record it cannot parse would fail the batch before the handler runs.
    """
    return message.body


def batch_records(message: KafkaMessage) -> tuple[ConsumerRecord[bytes, bytes], ...]:
    raw = message.raw_message
    return tuple(raw) if isinstance(raw, tuple | list) else (raw,)  # a list in TestKafkaBroker


def _seek_back(message: KafkaMessage, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
    """Every partition of the batch back to its first message in it: nothing is skipped."""
    first: dict[TopicPartition, int] = {}
    for record in records:
        first.setdefault(TopicPartition(record.topic, record.partition), record.offset)
    for partition, offset in first.items():
        try:
            message.consumer.seek(partition, offset)
        except (IllegalStateError, AssertionError):  # revoked meanwhile: its new owner reads it
            log.info("stage.seek_skipped", topic=partition.topic, partition=partition.partition)
