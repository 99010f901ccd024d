"""A failed batch comes again: every partition sought back to it, then a pause.

Only after a batch is processed (its ledger transaction committed) are its Kafka offsets
committed. If processing fails, every partition of the batch is sought back to its first
message in it and the consumer pauses, growing while the failure lasts, so the batch is
read again and nothing is skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import structlog
from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import IllegalStateError
from faststream.kafka.annotations import KafkaMessage

from services.runtime.backoff import backoff

log = structlog.get_logger(__name__)

RETRY_PAUSE_FIRST = 0.2
"""The pause after the first failure, before jitter (0.1 to 0.2 s); it doubles per failure."""
RETRY_PAUSE_MAX = 5.0

Process = Callable[[Sequence[ConsumerRecord[bytes, bytes]]], Awaitable[None]]
"""What a worker does with a batch's records; raising means "read the batch again"."""


class BatchRetry:
    """Commit a batch's offsets once it is processed; on failure seek back and pause.

    The pause doubles with every failure in a row (0.2 s up to 5 s, less up to half of it by
    jitter), so an unavailable ledger or broker is not hammered, and resets after a success.
    """

    def __init__(self) -> None:
        self._failures = 0

    async def run(self, message: KafkaMessage, stage: str, process: Process) -> None:
        """``process`` the batch's records; its offsets are committed only if it succeeds."""
        records = batch_records(message)
        try:
            await process(records)
        except Exception:
            pause = backoff(
                self._failures, base=RETRY_PAUSE_FIRST, cap=RETRY_PAUSE_MAX, jitter=True
            )
            self._failures += 1
            log.exception("stage.batch_failed", stage=stage, retry_in=round(pause, 2))
            _seek_back(message, records)
            await asyncio.sleep(pause)
            return
        self._failures = 0
        await message.ack()


def batch_records(message: KafkaMessage) -> tuple[ConsumerRecord[bytes, bytes], ...]:
    """The records of a batch message (a list in TestKafkaBroker, a tuple from Kafka)."""
    raw = message.raw_message
    return tuple(raw) if isinstance(raw, tuple | list) else (raw,)


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
