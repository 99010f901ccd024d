"""A stage's FastStream batch subscriber: Kafka records in, ledger batches, offsets after.

The worker turns each record of a batch into the stage's step on its submission
(:mod:`services.runtime.batch`), runs them in one ledger transaction off the event loop,
awaits each outcome's follow-up work, and leaves the offsets to :class:`BatchRetry`.
A batch that fails because of a message is bisected (:mod:`services.runtime.isolate`):
the message that fails alone is parked (:mod:`events.parking`), the others go on; a
failure of the ledger or broker fails the batch, which :class:`BatchRetry` reads again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
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
from events.parking import STAGE, Parked, ParkingLot, parking_lot
from services.runtime.batch import Outcome, Step, Work, log_context, perform
from services.runtime.isolate import isolate
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

    def __init__(
        self,
        ledger: Ledger,
        stage: str,
        plan: Plan,
        parking: ParkingLot | None = None,
        *,
        steps: Executor | None = None,
    ) -> None:
        self._ledger = ledger
        self._stage = stage
        self._plan = plan
        self._steps = steps
        """Where a batch's submissions are stepped at once (``batch.perform``); None: in turn."""
        self._retry = BatchRetry()
        self._parking = parking
        """Where failing messages are parked; None: the table beside the ledger, opened
        when the first message is parked."""
        self.parked = 0

    async def handle(self, message: KafkaMessage) -> None:
        """Handle one batch: commit its offsets after the ledger, or seek back and pause."""
        await self._retry.run(message, self._stage, self._process)

    async def _process(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        works = [work for record in records if (work := self._work(record)) is not None]
        isolated = await asyncio.to_thread(isolate, works, self._perform)
        if isolated.failed:
            await asyncio.to_thread(self._park, isolated.failed)
        for work, outcome in zip(works, isolated.results, strict=True):
            if outcome is not None and outcome.then is not None:
                with log_context(work, self._stage):
                    await outcome.then()

    def _perform(self, works: Sequence[Work]) -> list[Outcome | None]:
        return perform(self._ledger, self._stage, works, self._steps)

    def _park(self, failed: Sequence[tuple[Work, Exception]]) -> None:
        """Record each message that failed alone; its cause is logged (type, reason, where)."""
        if self._parking is None:
            self._parking = parking_lot(self._ledger.settings)
        letters = [
            Parked.of(STAGE, self._stage, w.source, str(w.submission_id), w.event, error)
            for w, error in failed
        ]
        self._parking.park(*letters)
        self.parked += len(letters)
        for (work, error), letter in zip(failed, letters, strict=True):
            with log_context(work, self._stage):
                log.error(
                    "stage.parked",
                    letter_id=letter.letter,
                    cause=letter.cause,
                    reason=letter.reason,
                    raised_at=raised_at(error),
                )

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
        source = f"{record.topic}/{record.partition}/{record.offset}"
        return Work(submission_id, event.hash, step, source, event.event)


def raised_at(error: BaseException) -> str:
    """Where ``error`` was raised (``module.py:line``): a clue without the error's text."""
    trace = error.__traceback__
    while trace is not None and trace.tb_next is not None:
        trace = trace.tb_next
    if trace is None:
        return "?"
    code = trace.tb_frame.f_code
    return f"{code.co_filename.rsplit('/', 1)[-1]}:{trace.tb_lineno}"


async def undecoded(message: StreamMessage[Any]) -> object:
    """FastStream decoder that leaves the batch as it is: handlers read the raw records.

    FastStream's batch decoder would parse every record again (and JSON-decode its value):
    wasted work, and a record it cannot parse would fail the batch before the handler runs.
    """
    return message.body
