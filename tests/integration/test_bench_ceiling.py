"""The bench's ceiling on the real broker: what comes out is validated, routed and encrypted."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.messages import DeliveryEnvelope
from deploy.broker import BrokerHandle
from harness.bench.baselines import delete_topics
from harness.bench.ceiling import CeilingTopics, CeilingWork
from harness.bench.ceiling_stages import create_topics, running
from harness.bench.payloads import ROUTING, BenchSubmission, Payloads, intake_message
from receiver.keys import Decrypter
from tests.support.authority import HANNOVER, KOELN, encryption_key

pytestmark = pytest.mark.kafka

PARTITIONS = 2
TO_HANNOVER = {"ars": "032410001001"}
"""Hannover, in the Region Hannover's Jobcenter's area; the bench's default goes to Köln."""


def _invalid(submission: BenchSubmission) -> BenchSubmission:
    """The same submission with data that is XML but no xdomea message (hashes still match)."""
    data = b"<?xml version='1.0' encoding='UTF-8'?><kein-xdomea/>"
    metadata = json.loads(submission.metadata)
    metadata["contentStructure"]["data"]["hash"]["content"] = hashlib.sha512(data).hexdigest()
    return BenchSubmission(submission.key, json.dumps(metadata).encode(), data, None)


@pytest.fixture
async def topics(kafka: BrokerHandle) -> AsyncIterator[CeilingTopics]:
    ceiling = CeilingTopics(f"amtsweg-test.ceiling.{uuid.uuid4().hex[:12]}")
    names = await create_topics(kafka.bootstrap_servers, ceiling, [KOELN, HANNOVER], PARTITIONS)
    yield ceiling
    await delete_topics(kafka.bootstrap_servers, names)


async def _collect(
    bootstrap_servers: str, topics: list[str], wanted: set[bytes]
) -> dict[bytes, list[tuple[str, bytes]]]:
    """Every (topic, value) of the keys in ``wanted``, once each came out somewhere."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
    )
    found: dict[bytes, list[tuple[str, bytes]]] = defaultdict(list)
    await consumer.start()
    try:
        while not wanted <= found.keys():
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    assert record.key is not None
                    assert record.value is not None
                    found[record.key].append((record.topic, record.value))
    finally:
        await consumer.stop()
    return found


async def test_ceiling_delivers_valid_submissions_encrypted_to_their_authority(
    kafka: BrokerHandle, topics: CeilingTopics, tmp_path: Path
) -> None:
    servers = kafka.bootstrap_servers
    payloads = Payloads(0, 0)
    submissions = {
        "koeln-1": payloads.build("koeln-1"),
        "koeln-2": payloads.build("koeln-2"),
        "hannover-1": payloads.build("hannover-1"),
        "invalid-1": _invalid(payloads.build("invalid-1")),
    }
    work = CeilingWork.configured(topics, tmp_path / "authority-keys")
    producer = AIOKafkaProducer(bootstrap_servers=servers)
    async with running(servers, work, PARTITIONS):
        await producer.start()
        try:
            for key, submission in submissions.items():
                routing = TO_HANNOVER if key.startswith("hannover") else ROUTING
                value = intake_message(submission, routing)
                await producer.send_and_wait(topics.intake, value, key=key.encode())
        finally:
            await producer.stop()
        out = [topics.delivery(KOELN), topics.delivery(HANNOVER), topics.after("ended")]
        found = await _collect(servers, out, {key.encode() for key in submissions})

    decrypter = Decrypter(encryption_key())
    expected = {"koeln-1": KOELN, "koeln-2": KOELN, "hannover-1": HANNOVER}
    for key, authority in expected.items():
        ((topic, value),) = found[key.encode()]
        assert topic == topics.delivery(authority)
        envelope = DeliveryEnvelope.model_validate_json(value)
        assert envelope.authority_id == authority
        assert envelope.metadata is None
        assert envelope.encryption is not None
        assert envelope.encryption.kid == encryption_key()["kid"]
        assert envelope.data.content is not None
        assert decrypter.decrypt(envelope.data.content) == submissions[key].data
        assert envelope.encrypted_metadata is not None
        metadata = json.loads(decrypter.decrypt(envelope.encrypted_metadata))
        assert metadata == json.loads(submissions[key].metadata)
    ((topic, value),) = found[b"invalid-1"]
    assert topic == topics.after("ended")
    ended = json.loads(value)
    assert ended["outcome"] == "rejected"
    assert ended["reasons"], ended
