"""Dead letters: intake messages that cannot become a submission, kept with the reason.

A refused message goes to ``amtsweg.intake.dlq`` with its original key and value and
headers that say why (an RFC 7807 problem) and where it came from. The intake consumer
then moves on: a malformed message never blocks the topic.
"""

from __future__ import annotations

from typing import Protocol

from aiokafka.errors import MessageSizeTooLargeError

from contracts import headers
from contracts.problems import Problem
from services.intake.from_kafka import IntakeRecord


class DeadLetterPublisher(Protocol):
    """Where dead letters go (FastStream's publisher for the dead-letter topic)."""

    async def publish(
        self, message: bytes, *, key: bytes | None, headers: dict[str, str]
    ) -> object: ...


def dead_letter_headers(record: IntakeRecord, problem: Problem) -> dict[str, str]:
    """The original headers (as text) plus the problem and the original position."""
    copied = {key: (value or b"").decode("utf-8", "replace") for key, value in record.headers}
    return copied | {
        headers.PROBLEM: problem.model_dump_json(exclude_none=True),
        headers.ORIGINAL_TOPIC: record.topic,
        headers.ORIGINAL_PARTITION: str(record.partition),
        headers.ORIGINAL_OFFSET: str(record.offset),
    }


async def send_to_dead_letters(
    publisher: DeadLetterPublisher, record: IntakeRecord, problem: Problem
) -> None:
    """Publish the dead letter and wait for the broker's ack.

    A value too large to be copied (the headers add to it) is left out, and its size noted.
    """
    letter = dead_letter_headers(record, problem)
    try:
        await publisher.publish(record.value, key=record.key, headers=letter)
    except MessageSizeTooLargeError:
        letter[headers.VALUE_OMITTED] = str(len(record.value))
        await publisher.publish(b"", key=record.key, headers=letter)
