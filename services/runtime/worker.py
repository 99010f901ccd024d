"""A stage's FastStream batch subscriber: Kafka records in, ledger batches, offsets after.

The worker turns each record of a batch into the stage's step on its submission
(:mod:`services.runtime.batch`), runs them in one ledger transaction off the event loop,
awaits each outcome's follow-up work, and leaves the offsets to :class:`BatchRetry`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import structlog
from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from pydantic import ValidationError

from contracts.messages import SubmissionEventMessage
from events.ledger import Ledger
from services.runtime.batch import Step, Work, log_context, perform
from services.runtime.retry import BatchRetry
from services.runtime.settings import StageSettings

log = structlog.get_logger(__name__)

POLL_TIMEOUT_MS = 20
"""How long an idle consumer waits for records; FastStream then sleeps as long again."""


def subscription(settings: StageSettings) -> dict[str, Any]:
    """The FastStream subscriber options every batch worker uses."""
    return {
        "batch": True,
        "max_records": settings.batch_records,
        "batch_timeout_ms": POLL_TIMEOUT_MS,
        "ack_policy": AckPolicy.MANUAL,
        "decoder": undecoded,
    }


Plan = Callable[[SubmissionEventMessage], Step | None]
"""The step for one event message; None for an event this stage does not handle."""


class BatchWorker:
    """One stage's FastStream batch handler (``handle``; ``batch=True``, ``AckPolicy.MANUAL``)."""

    def __init__(self, ledger: Ledger, stage: str, plan: Plan) -> None:
        self._ledger = ledger
        self._stage = stage
        self._plan = plan
        self._retry = BatchRetry()

    async def handle(self, message: KafkaMessage) -> None:
        """Handle one batch: commit its offsets after the ledger, or seek back and pause."""
        await self._retry.run(message, self._stage, self._process)

    async def _process(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        works = [work for record in records if (work := self._work(record)) is not None]
        outcomes = await asyncio.to_thread(perform, self._ledger, self._stage, works)
        for work, outcome in zip(works, outcomes, strict=True):
            if outcome is not None and outcome.then is not None:
                with log_context(work, self._stage):
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


async def undecoded(message: StreamMessage[Any]) -> object:
    """FastStream decoder that leaves the batch as it is: handlers read the raw records.

    FastStream's batch decoder would parse every record again (and JSON-decode its value):
    wasted work, and a record it cannot parse would fail the batch before the handler runs.
    """
    return message.body
