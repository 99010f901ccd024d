"""The intake's dead-letter topic: reading it whole, and producing a letter back to intake.

Reading assigns every partition of ``amtsweg.intake.dlq`` (no consumer group, nothing
committed) from its beginning to the end offsets seen at the start. A retry produces
the original value with its original key and headers to the intake topic it came from
(:meth:`IntakeLetter.intake_topic`, which says the portal) — a message
as a portal would send it, not a ledger event — and waits for the broker's ack. Every
function takes the clients' ``security`` (None: from the environment, ``KAFKA_…``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts import headers, topics
from contracts.kafka_security import KafkaSecurity, client_options

_DEAD_LETTER_HEADERS = {
    headers.PROBLEM,
    headers.ORIGINAL_TOPIC,
    headers.ORIGINAL_PARTITION,
    headers.ORIGINAL_OFFSET,
    headers.VALUE_OMITTED,
}
READ_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class IntakeLetter:
    """One message on the dead-letter topic."""

    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    @property
    def letter_id(self) -> str:
        """Stable id of this dead letter: ``intake-<partition>-<offset>``."""
        return f"intake-{self.partition}-{self.offset}"

    def header(self, name: str) -> str | None:
        """A header as text, if present."""
        for key, value in self.headers:
            if key == name:
                return value.decode("utf-8", "replace")
        return None

    def problem(self) -> dict[str, Any]:
        """The RFC 7807 problem that refused it."""
        try:
            document = json.loads(self.header(headers.PROBLEM) or "{}")
        except ValueError:
            return {}
        return document if isinstance(document, dict) else {}

    def intake_topic(self) -> str:
        """The intake topic the letter came from: a portal's own, else ``amtsweg.intake``."""
        original = self.header(headers.ORIGINAL_TOPIC) or topics.INTAKE
        return original if topics.portal_of_intake_topic(original) else topics.INTAKE

    def original_headers(self) -> list[tuple[str, bytes]]:
        """The headers the portal sent (without the dead-letter ones)."""
        return [(k, v) for k, v in self.headers if k not in _DEAD_LETTER_HEADERS]


async def _partitions(
    bootstrap_servers: str, topic: str, security: KafkaSecurity | None
) -> list[TopicPartition]:
    """The topic's partitions (none when the topic does not exist yet)."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, client_id="amtsweg-ops", **client_options(security)
    )
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    found = [d for d in described if d.get("topic") == topic and not d.get("error_code")]
    numbers = sorted(p["partition"] for d in found for p in d.get("partitions", []))
    return [TopicPartition(topic, number) for number in numbers]


async def read_letters(
    bootstrap_servers: str,
    topic: str = topics.INTAKE_DLQ,
    *,
    security: KafkaSecurity | None = None,
) -> list[IntakeLetter]:
    """Every message on the topic now, in partition and offset order."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        group_id=None,
        **client_options(security),
    )
    await consumer.start()
    try:
        partitions = await _partitions(bootstrap_servers, topic, security)
        if not partitions:
            return []
        consumer.assign(partitions)
        begin = await consumer.beginning_offsets(partitions)
        end = await consumer.end_offsets(partitions)
        for partition in partitions:
            consumer.seek(partition, begin[partition])
        letters: list[IntakeLetter] = []
        async with asyncio.timeout(READ_TIMEOUT_SECONDS):
            while await _behind(consumer, end):
                batch = await consumer.getmany(timeout_ms=500)
                for partition, records in batch.items():
                    letters.extend(
                        IntakeLetter(
                            partition=r.partition,
                            offset=r.offset,
                            timestamp_ms=r.timestamp,
                            key=r.key,
                            value=r.value or b"",
                            headers=tuple(r.headers),
                        )
                        for r in records
                        if r.offset < end[partition]
                    )
        return sorted(letters, key=lambda letter: (letter.partition, letter.offset))
    finally:
        await consumer.stop()


async def _behind(consumer: AIOKafkaConsumer, end: dict[TopicPartition, int]) -> bool:
    """True while some partition has not been read up to ``end``."""
    for partition, offset in end.items():
        if int(await consumer.position(partition)) < offset:
            return True
    return False


async def waiting_count(
    bootstrap_servers: str,
    topic: str = topics.INTAKE_DLQ,
    *,
    security: KafkaSecurity | None = None,
) -> int:
    """How many messages the topic holds now (from the offsets; reads none)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        group_id=None,
        **client_options(security),
    )
    await consumer.start()
    try:
        partitions = await _partitions(bootstrap_servers, topic, security)
        if not partitions:
            return 0
        begin = await consumer.beginning_offsets(partitions)
        end = await consumer.end_offsets(partitions)
        return sum(end[p] - begin[p] for p in partitions)
    finally:
        await consumer.stop()


def retry_headers(letter: IntakeLetter) -> list[tuple[str, bytes]]:
    """The original headers; a letter without an idempotency key gets one from its origin.

    Without a key the intake would key the retried message by its new position, so a
    retry done twice would make two submissions; the key names where the message first
    was, and the intake's idempotency does the rest.
    """
    original = letter.original_headers()
    if any(k == headers.IDEMPOTENCY_KEY for k, _ in original) or _body_has_key(letter.value):
        return original
    origin = "/".join(
        letter.header(name) or "?"
        for name in (headers.ORIGINAL_TOPIC, headers.ORIGINAL_PARTITION, headers.ORIGINAL_OFFSET)
    )
    return [*original, (headers.IDEMPOTENCY_KEY, f"dlq-retry:{origin}".encode())]


def _body_has_key(value: bytes) -> bool:
    try:
        document = json.loads(value)
    except ValueError:
        return False
    return isinstance(document, dict) and bool(document.get("idempotencyKey"))


async def produce_to_intake(
    bootstrap_servers: str,
    key: bytes | None,
    value: bytes,
    message_headers: Sequence[Any],
    *,
    topic: str = topics.INTAKE,
    security: KafkaSecurity | None = None,
) -> None:
    """Produce one message to the intake ``topic`` and wait for the ack of all replicas."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        max_request_size=8 * 1024 * 1024,
        **client_options(security),
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, headers=list(message_headers))
    finally:
        await producer.stop()
