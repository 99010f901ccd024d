"""The facts ``amtsweg chaos`` checks, read from the ledger and the Kafka topics directly.

First it waits until Amtsweg is quiet: every submission it knows of (accepted by the load,
or found in the ledger) has reached an end state of the pipeline, the relay's stored
position is the ledger's newest notification, and the ledger has not grown for a few
seconds; or the timeout has passed (what is then unfinished counts as lost). Then it reads
each submission's trail (terminal events, delivery, hash chain and relay witness, as
``amtsweg verify --all`` does) and every message on the authorities' delivery topics.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from uuid import UUID

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts import topics
from contracts.kafka_security import client_options
from events.ledger import Ledger, SubmissionNotFoundError
from events.lifecycle import Status
from events.shard_relay_stores import ShardRelayStores
from harness.chaos.check import TERMINAL_EVENTS, DeliveryRecord, TrailFacts
from services.ops.actions.verify import check_submission

RELAY = "relay"
"""The main relay's name in the relay store."""
PIPELINE_ENDS = frozenset(
    {Status.DISPATCHED, Status.REJECTED, Status.UNROUTABLE, Status.ACCEPTED, Status.REFUSED}
)
STABLE_SECONDS = 3.0
READ_TIMEOUT = 120.0


def head(ledger: Ledger) -> int:
    """The ledger's newest notification ids, summed over its shards (0 when empty)."""
    return sum(int(shard.recorder.max_notification_id() or 0) for shard in ledger.shards)


def relay_position(store: ShardRelayStores) -> int:
    """The positions of every shard's relay, summed: equal to :func:`head` when all
    caught up, since no relay gets ahead of its shard."""
    return sum(store.position(relay) for relay in store.relays())


def _unfinished(ledger: Ledger, known: set[str], finished: set[str]) -> set[str]:
    """Of ``known`` and the ledger's submissions, those not at an end state.

    Adds those found at one to ``finished`` (an end state stays: not read again).
    """
    pending = set()
    for submission_id in (known | {str(s) for s in ledger.submission_ids()}) - finished:
        try:
            status = ledger.get_submission(UUID(submission_id)).status
        except SubmissionNotFoundError:
            status = None
        if status in PIPELINE_ENDS:
            finished.add(submission_id)
        else:
            pending.add(submission_id)
    return pending


async def wait_until_quiet(
    ledger: Ledger, store: ShardRelayStores, accepted: set[str], limit_s: float
) -> tuple[bool, float]:
    """Wait until quiet (see the module docstring); whether it got there, and how long."""
    began = time.monotonic()
    finished: set[str] = set()
    stable_since, last_head = began, -1
    while time.monotonic() - began < limit_s:
        pending = await asyncio.to_thread(_unfinished, ledger, accepted, finished)
        now_head = await asyncio.to_thread(head, ledger)
        position = await asyncio.to_thread(relay_position, store)
        if now_head != last_head:
            stable_since, last_head = time.monotonic(), now_head
        stable = time.monotonic() - stable_since >= STABLE_SECONDS
        if not pending and position == now_head and stable:
            return True, round(time.monotonic() - began, 1)
        await asyncio.sleep(1.0)
    return False, round(time.monotonic() - began, 1)


def trail_facts(ledger: Ledger, store: ShardRelayStores, submission_id: UUID) -> TrailFacts:
    """One submission's terminal events, delivery and first broken link."""
    trail = ledger.trail(submission_id)
    terminal = tuple(entry.event for entry in trail if entry.event in TERMINAL_EVENTS)
    delivery = next(
        (
            (str(entry.data["topic"]), str(entry.data["delivery_id"]))
            for entry in trail
            if entry.event == "Dispatched"
        ),
        None,
    )
    broken = check_submission(ledger, store, submission_id)
    return TrailFacts(terminal, delivery, None if broken is None else broken.describe())


def ledger_facts(
    ledger: Ledger, store: ShardRelayStores, also: set[str]
) -> tuple[dict[str, TrailFacts], int, int]:
    """Every submission in the ledger (and those of ``also`` it holds); head; relay position."""
    ids = {str(s) for s in ledger.submission_ids()} | also
    trails: dict[str, TrailFacts] = {}
    for submission_id in sorted(ids):
        try:
            trails[submission_id] = trail_facts(ledger, store, UUID(submission_id))
        except SubmissionNotFoundError:
            continue
    return trails, head(ledger), relay_position(store)


async def read_deliveries(bootstrap_servers: str) -> list[DeliveryRecord]:
    """Every message on every ``amtsweg.delivery.<authority>`` topic now."""
    partitions = await _delivery_partitions(bootstrap_servers)
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        **client_options(),
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        found: list[DeliveryRecord] = []
        async with asyncio.timeout(READ_TIMEOUT):
            while await _behind(consumer, end):
                batch = await consumer.getmany(timeout_ms=500)
                for partition, records in batch.items():
                    found.extend(
                        DeliveryRecord(
                            record.topic,
                            (record.key or b"").decode("utf-8", "replace"),
                            _header(record.headers, "amtsweg-delivery-id"),
                        )
                        for record in records
                        if record.offset < end[partition]
                    )
        return found
    finally:
        await consumer.stop()


async def _delivery_partitions(bootstrap_servers: str) -> list[TopicPartition]:
    """The partitions of every authority's delivery topic."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, **client_options(), client_id="amtsweg-chaos"
    )
    await admin.start()
    try:
        names = sorted(
            name
            for name in await admin.list_topics()
            if name.startswith(topics.DELIVERY_PREFIX) and name != topics.RECEIPTS
        )
        described = await admin.describe_topics(names) if names else []
    finally:
        await admin.close()
    return [
        TopicPartition(str(topic["topic"]), int(partition["partition"]))
        for topic in described
        if topic.get("topic") in names and not topic.get("error_code")
        for partition in topic.get("partitions", [])
    ]


async def _behind(consumer: AIOKafkaConsumer, end: dict[TopicPartition, int]) -> bool:
    for partition, offset in end.items():
        if await consumer.position(partition) < offset:
            return True
    return False


def _header(message_headers: Sequence[tuple[str, bytes]], name: str) -> str:
    for key, value in message_headers:
        if key == name:
            return value.decode("utf-8", "replace")
    return ""
