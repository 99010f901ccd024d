"""Kafka intake worker: ``amtsweg.intake.<portal-id>`` (and ``amtsweg.intake``) → Received,
or ``amtsweg.intake.dlq``."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from typing import Any

import structlog
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage

from contracts import topics
from contracts.problems import Problem
from events.ledger import Ledger
from events.vault import Vault
from services.intake.dead_letter import send_to_dead_letters
from services.intake.domain import submission_id_for
from services.intake.errors import ProblemError
from services.intake.from_kafka import IntakeRecord, IntakeRequest, read_message
from services.intake.json_form import store_parts
from services.intake.receive import Arrival, IntakeResult, receive_many
from services.intake.sealing import PartSink
from services.intake.settings import IntakeSettings
from services.runtime.retry import BatchRetry
from services.runtime.settings import StageSettings
from services.runtime.worker import subscription

log = structlog.get_logger(__name__)

GROUP = "amtsweg-intake"

Parse = Callable[[Sequence[ConsumerRecord[Any, Any]]], Awaitable[StreamMessage[Any]]]

INTAKE_BATCH = 100
"""Intake messages per batch at most (each may carry megabytes of parts)."""


def register(
    broker: KafkaBroker,
    ledger: Ledger,
    vault: Vault,
    settings: IntakeSettings,
    *,
    stage_settings: StageSettings,
) -> list[str]:
    """Subscribe the Kafka intake to the broker; return the topics it reads."""
    dead_letters = broker.publisher(
        topics.INTAKE_DLQ,
        title="amtsweg.intake.dlq",
        description="Intake messages refused, with the reason in header amtsweg-problem.",
    )

    retry = BatchRetry()
    options = subscription(stage_settings)
    sealing = stage_settings.sealing_pool("intake-sealing")

    async def take_in_batch(records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        intake_records = [intake_record(record) for record in records]
        answers = await asyncio.to_thread(
            receive_batch, ledger, vault, settings, intake_records, sealing
        )
        for record, (request, answer) in zip(intake_records, answers, strict=True):
            with _bound(record):
                if isinstance(answer, ProblemError):
                    problem = answer.document()
                    await send_to_dead_letters(dead_letters, record, problem)
                    log.warning("intake.dead_letter", problem_type=problem.type)
                    continue
                assert request is not None
                log.info(
                    "intake.received" if answer.created else "intake.replayed",
                    submission_id=str(answer.submission_id),
                    portal_id=request.portal_id,
                    correlation_id=request.correlation_id,
                    channel="kafka",
                )

    async def on_intake(message: KafkaMessage) -> None:
        await retry.run(message, "intake", take_in_batch)

    read = [topics.INTAKE, *settings.portal_topics()]
    broker.subscriber(
        *read,
        group_id=GROUP,
        auto_offset_reset="earliest",
        **(options | {"max_records": min(INTAKE_BATCH, options["max_records"])}),
        parser=parse_leniently,
        title="amtsweg.intake",
        description="Portals' submissions over Kafka (the JSON form of POST /v1/submissions).",
    )(on_intake)
    return read


def _bound(record: IntakeRecord) -> Any:
    return structlog.contextvars.bound_contextvars(
        stage="intake",
        partition=record.partition,
        offset=record.offset,
        causation_id=f"kafka:{record.topic}/{record.partition}/{record.offset}",
    )


Answer = tuple[IntakeRequest | None, IntakeResult | ProblemError]


def receive_batch(
    ledger: Ledger,
    vault: Vault,
    settings: IntakeSettings,
    records: Sequence[IntakeRecord],
    sealing: Executor | None = None,
) -> list[Answer]:
    """Read each message and seal its parts, then receive them all in one transaction.

    The new submissions' data keys are created in one key-store transaction, and the
    messages are sealed at once on ``sealing`` (each blob write waits for its fsync; the
    disk takes several together). A message refused on reading or storing gets its
    problem (a dead letter); an error of the ledger or the blob store propagates, so the
    whole batch is processed again.
    """
    prepared: list[tuple[IntakeRequest, PartSink] | ProblemError] = []
    for record in records:
        with _bound(record):
            try:
                request = _read(record, settings)
            except ProblemError as problem:
                prepared.append(problem)
                continue
            prepared.append((request, _sink(ledger, vault, request)))
    sinks = [item[1] for item in prepared if not isinstance(item, ProblemError)]
    vault.keys.create_all(sink.submission_id for sink in sinks if sink.keeps)

    def seal(
        record: IntakeRecord, item: tuple[IntakeRequest, PartSink] | ProblemError
    ) -> tuple[IntakeRequest, Arrival] | ProblemError:
        if isinstance(item, ProblemError):
            return item
        request, sink = item
        with _bound(record):
            try:
                incoming = sink.seal_dossier(store_parts(sink, request.form))
            except ProblemError as problem:
                return problem
        return request, Arrival(
            incoming, request.portal_id, request.idempotency_key, request.correlation_id
        )

    sealed = list(
        map(seal, records, prepared)
        if sealing is None or len(sinks) < 2  # one message: nothing to overlap
        else sealing.map(seal, records, prepared)
    )
    arrivals = [item[1] for item in sealed if not isinstance(item, ProblemError)]
    received = iter(receive_many(ledger, vault, arrivals))
    return [
        (None, item) if isinstance(item, ProblemError) else (item[0], next(received))
        for item in sealed
    ]


def _sink(ledger: Ledger, vault: Vault, request: IntakeRequest) -> PartSink:
    """Seal the parts, unless the ledger holds the submission already (a retry)."""
    submission_id = submission_id_for(request.portal_id, request.idempotency_key)
    recorded = request.idempotency_key is not None and ledger.exists(submission_id)
    return PartSink(vault, submission_id, keep=not recorded)


def _read(record: IntakeRecord, settings: IntakeSettings) -> IntakeRequest:
    """Read a message; an unforeseen error here is the message's, not the infrastructure's.

    Reading is pure: processing the same bytes again fails the same way, so such an error
    becomes a dead letter rather than a message retried for ever ahead of all others.
    """
    try:
        return read_message(record, settings)
    except ProblemError:
        raise
    except Exception as error:  # see the docstring; logged with its trace, then a dead letter
        log.exception("intake.unreadable_message")
        problem = Problem.of(
            "unprocessable-message",
            "Unprocessable message",
            status=422,
            detail=f"The message could not be read ({type(error).__name__}).",
        )
        raise ProblemError(422, [problem]) from error


def intake_record(record: ConsumerRecord[bytes, bytes]) -> IntakeRecord:
    """What the intake reads of a Kafka record."""
    return IntakeRecord(
        value=record.value or b"",
        key=record.key,
        headers=list(record.headers),
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp=record.timestamp,
    )


async def parse_leniently(
    records: Sequence[ConsumerRecord[Any, Any]], parse: Parse
) -> StreamMessage[Any]:
    """FastStream's batch parser, but a header that is null or not UTF-8 does not make it fail.

    FastStream decodes every header strictly and drops a batch it cannot parse without a
    trace; the intake reads the original headers itself (and refuses bad ones).
    """
    try:
        return await parse(records)
    except (UnicodeDecodeError, AttributeError):
        stand_ins = tuple(_readable(record) for record in records)
        message = await parse(stand_ins)
        message.raw_message = records
        return message


def _readable(record: ConsumerRecord[Any, Any]) -> ConsumerRecord[Any, Any]:
    readable = [
        (key, (value or b"").decode("utf-8", "replace").encode()) for key, value in record.headers
    ]
    return dataclasses.replace(record, headers=readable)
