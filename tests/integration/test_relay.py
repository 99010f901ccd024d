"""The relay on the real broker: order per submission, durable position, envelopes."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from contracts import topics
from deploy.broker import BrokerHandle
from deploy.topics import ensure_topics
from events.ledger import Ledger
from events.outbox import Outbound
from events.parking import parking_lot
from events.publisher import PermanentPublishError
from events.relay import Relay
from events.relay_store import relay_store
from events.settings import LedgerSettings
from events.vault import Vault, local_vault
from services.runtime.kafka import KafkaPublisher, relay_producer
from services.runtime.relay_loop import run_relay
from tests.support.factories import new_submission

AUTHORITY_TOPIC = "amtsweg.delivery.relay-test-authority"


async def _drain(bootstrap: str, *names: str) -> list[tuple[str, bytes, dict[str, object]]]:
    consumer = AIOKafkaConsumer(
        *names, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        found: list[tuple[str, bytes, dict[str, object]]] = []
        while True:
            batch = await consumer.getmany(timeout_ms=1500)
            if not batch:
                return found
            for partition, records in batch.items():
                found.extend((partition.topic, r.key, json.loads(r.value)) for r in records)
    finally:
        await consumer.stop()


def _dispatched_submissions(
    ledger: Ledger, count: int, vault: Vault, topic: str = AUTHORITY_TOPIC, padding: int = 0
) -> list[uuid.UUID]:
    """Dispatched submissions whose envelopes (``padding`` bytes larger) are in ``vault``."""
    ids = []
    for _ in range(count):
        submission = new_submission()
        submission.validate("cat-1", "urn:x")
        submission.route("relay-test-authority", "053150000000", "05315", "dir-1")
        envelope = {
            "deliveryId": f"d-{submission.id}",
            "submissionId": str(submission.id),
            "padding": "x" * padding,
        }
        submission.dispatch(
            f"d-{submission.id}",
            "relay-test-authority",
            topic,
            vault.put_envelope(submission.id, json.dumps(envelope).encode()),
        )
        ledger.save(submission)
        ids.append(submission.id)
    return ids


async def test_relay_publishes_in_order_once_per_position(
    kafka: BrokerHandle, tmp_path: Path
) -> None:
    bootstrap = kafka.bootstrap_servers
    await ensure_topics(bootstrap, [*topics.INTERNAL_TOPICS, AUTHORITY_TOPIC], partitions=3)
    settings = LedgerSettings(data_dir=tmp_path)
    ledger = Ledger(settings)
    vault = local_vault(tmp_path / "vault")
    ids = _dispatched_submissions(ledger, 5, vault)

    producer = relay_producer(bootstrap)
    await producer.start()
    try:
        publisher = KafkaPublisher(producer)
        relay = Relay(
            ledger, relay_store(settings), publisher, envelopes=vault.envelope, name="test-relay"
        )
        assert await relay.publish_batch() == 20
        assert await relay.publish_batch() == 0
        # A new relay (a restart) resumes from the stored position: nothing twice.
        restarted = Relay(
            ledger, relay_store(settings), publisher, envelopes=vault.envelope, name="test-relay"
        )
        assert restarted.position == relay.position
        assert await restarted.publish_batch() == 0
        extra = _dispatched_submissions(ledger, 1, vault)
        assert await restarted.publish_batch() == 4
    finally:
        await producer.stop()
        ledger.close()

    records = await _drain(bootstrap, *topics.INTERNAL_TOPICS, AUTHORITY_TOPIC)
    mine = {str(i) for i in [*ids, *extra]}
    events = [r for r in records if r[0] != AUTHORITY_TOPIC and r[2]["submissionId"] in mine]
    assert len(events) == 6 * 4
    for submission_id in mine:
        versions = sorted(
            (r[2]["version"], r[2]["event"])
            for r in events
            if r[2]["submissionId"] == submission_id
        )
        assert versions == [(1, "Received"), (2, "Validated"), (3, "Routed"), (4, "Dispatched")]
    # keyed by submission id, so one application's events stay in one partition of a topic
    assert all(key.decode() == str(record["submissionId"]) for _, key, record in records)
    envelopes = [r[2] for r in records if r[0] == AUTHORITY_TOPIC]
    assert sorted(str(e["submissionId"]) for e in envelopes) == sorted(mine)


@pytest.mark.skipif(
    bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS")), reason="needs the broker this run started"
)
async def test_relay_survives_a_broker_restart(kafka: BrokerHandle, tmp_path: Path) -> None:
    assert kafka.local is not None
    bootstrap = kafka.bootstrap_servers
    settings = LedgerSettings(data_dir=tmp_path)
    ledger = Ledger(settings)
    vault = local_vault(tmp_path / "vault")
    before = _dispatched_submissions(ledger, 2, vault)
    producer = relay_producer(bootstrap)
    await producer.start()
    stop = asyncio.Event()
    publisher = KafkaPublisher(producer)
    relay = Relay(
        ledger, relay_store(settings), publisher, envelopes=vault.envelope, name="restart-relay"
    )
    task = asyncio.create_task(run_relay(relay, stop))
    try:
        await _until_position(relay, 8)
        await asyncio.to_thread(kafka.local.restart)
        after = _dispatched_submissions(ledger, 2, vault)
        await _until_position(relay, 16)
    finally:
        stop.set()
        await task
        await producer.stop()
        ledger.close()
    records = await _drain(bootstrap, AUTHORITY_TOPIC)
    delivered = {str(r[2]["submissionId"]) for r in records}
    assert {str(i) for i in [*before, *after]} <= delivered


async def test_the_kafka_publisher_turns_kafka_errors_into_publish_errors(
    kafka: BrokerHandle,
) -> None:
    bootstrap = kafka.bootstrap_servers
    small = f"amtsweg-test.small.{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [small], partitions=1, configs={"max.message.bytes": "1024"})
    producer = relay_producer(bootstrap)
    await producer.start()
    try:
        publisher = KafkaPublisher(producer)
        beyond_the_request_limit = Outbound(small, b"k", bytes(2 * 1024 * 1024), ())
        with pytest.raises(PermanentPublishError, match="MessageSizeTooLargeError"):
            await publisher.send(beyond_the_request_limit)  # refused by the client
        beyond_the_topic_limit = Outbound(small, b"k", bytes(4096), ())
        ack = await publisher.send(beyond_the_topic_limit)
        with pytest.raises(PermanentPublishError) as refused:  # refused by the broker
            await ack
        assert refused.value.__cause__ is not None
        assert refused.value.cause == "MessageSizeTooLargeError"
        assert await (await publisher.send(Outbound(small, b"k", b"fits", ()))) is not None
    finally:
        await producer.stop()


async def test_relay_parks_an_event_the_broker_refuses_and_publishes_the_rest_in_order(
    kafka: BrokerHandle, tmp_path: Path
) -> None:
    bootstrap = kafka.bootstrap_servers
    small = f"amtsweg.delivery.relay-small-{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [small, *topics.INTERNAL_TOPICS], partitions=1)
    settings = LedgerSettings(data_dir=tmp_path)
    ledger = Ledger(settings)
    vault = local_vault(tmp_path / "vault")
    before = _dispatched_submissions(ledger, 3, vault, small)
    (poisoned,) = _dispatched_submissions(ledger, 1, vault, small, padding=8192)
    after = _dispatched_submissions(ledger, 3, vault, small)
    lot = parking_lot(settings)
    producer = relay_producer(bootstrap, max_message_bytes=4096)  # the envelope: 8 KiB
    await producer.start()
    try:
        relay = Relay(
            ledger,
            relay_store(settings),
            KafkaPublisher(producer),
            envelopes=vault.envelope,
            name="parking-relay",
            parking=lot,
        )
        assert await relay.publish_batch() == 7 * 4  # not raised: the batch went through
        assert relay.position == ledger.recorder.max_notification_id()
        assert relay.parked == 1
        assert await relay.publish_batch() == 0
        restarted = Relay(
            ledger, relay_store(settings), KafkaPublisher(producer), envelopes=vault.envelope,
            name="parking-relay", parking=lot,
        )  # fmt: skip
        assert restarted.position == relay.position  # the skip is durable
    finally:
        await producer.stop()
        ledger.close()
    (parked,) = lot.parked()
    assert (parked.kind, parked.place, parked.event) == ("relay", "parking-relay", "Dispatched")
    assert parked.submission_id == str(poisoned)
    assert parked.cause == "MessageSizeTooLargeError"
    assert parked.reason == "larger than the broker's message limit"
    assert parked.source.startswith("notification ")
    records = await _drain(bootstrap, small)
    delivered = [str(record["submissionId"]) for _, _, record in records]
    assert delivered == [str(i) for i in [*before, *after]]  # all the others, in order


async def _until_position(relay: Relay, position: int, timeout: float = 90) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while relay.position < position:
        assert asyncio.get_running_loop().time() < deadline, f"relay stuck at {relay.position}"
        await asyncio.sleep(0.05)
