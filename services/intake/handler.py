"""Kafka intake worker: ``amtsweg.intake`` → Received, or ``amtsweg.intake.dlq``."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage

from contracts import topics
from contracts.problems import Problem
from events.blobs import BlobStore
from events.ledger import Ledger
from services.intake.dead_letter import send_to_dead_letters
from services.intake.errors import ProblemError
from services.intake.from_kafka import IntakeRecord, IntakeRequest, read_message, take_in
from services.intake.settings import IntakeSettings

log = structlog.get_logger(__name__)

GROUP = "amtsweg-intake"

Parse = Callable[[ConsumerRecord[Any, Any]], Awaitable[StreamMessage[Any]]]


def register(
    broker: KafkaBroker, ledger: Ledger, blobs: BlobStore, settings: IntakeSettings
) -> None:
    """Subscribe the Kafka intake to the broker."""
    dead_letters = broker.publisher(
        topics.INTAKE_DLQ,
        title="amtsweg.intake.dlq",
        description="Intake messages refused, with the reason in header amtsweg-problem.",
    )

    @broker.subscriber(
        topics.INTAKE,
        group_id=GROUP,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        parser=parse_leniently,
        title="amtsweg.intake",
        description="Portals' submissions over Kafka (the JSON form of POST /v1/submissions).",
    )
    async def on_intake(raw: KafkaMessage) -> None:
        record = intake_record(raw)
        with structlog.contextvars.bound_contextvars(
            stage="intake",
            partition=record.partition,
            offset=record.offset,
            causation_id=f"kafka:{record.topic}/{record.partition}/{record.offset}",
        ):
            try:
                request = await asyncio.to_thread(_read, record, settings)  # CPU: off the loop
                receipt = await take_in(ledger, blobs, request)
            except ProblemError as error:
                problem = error.document()
                await send_to_dead_letters(dead_letters, record, problem)
                log.warning("intake.dead_letter", problem_type=problem.type)
                return
            log.info(
                "intake.received" if receipt.created else "intake.replayed",
                submission_id=str(receipt.submission_id),
                portal_id=request.portal_id,
                correlation_id=request.correlation_id,
                channel="kafka",
            )


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


def intake_record(raw: KafkaMessage) -> IntakeRecord:
    """The Kafka record behind a FastStream message."""
    record = raw.raw_message
    assert not isinstance(record, tuple)  # a single-message subscriber
    return IntakeRecord(
        value=record.value or b"",
        key=record.key,
        headers=list(record.headers),
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp=record.timestamp,
    )


async def parse_leniently(record: ConsumerRecord[Any, Any], parse: Parse) -> StreamMessage[Any]:
    """FastStream's parser, but a header that is null or not UTF-8 does not make it fail.

    FastStream decodes every header strictly and drops a message it cannot parse without
    a trace; the intake reads the original headers itself (and refuses bad ones).
    """
    try:
        return await parse(record)
    except (UnicodeDecodeError, AttributeError):
        readable = [
            (key, (value or b"").decode("utf-8", "replace").encode())
            for key, value in record.headers
        ]
        stand_in = dataclasses.replace(record, headers=readable)
        if hasattr(record, "consumer"):  # set by FastStream on records it fetched
            stand_in.consumer = record.consumer
        message = await parse(stand_in)
        message.raw_message = record
        return message
