"""The Kafka intake on the real broker: messages in, submissions or dead letters out."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from contracts import headers, topics
from contracts.problems import PROBLEM_BASE
from deploy.broker import BrokerHandle
from events.ledger import Ledger
from events.settings import LedgerSettings
from services.intake.domain import submission_id_for
from services.ops.app.bootstrap import SERVICES
from tests.support.factories import json_request, xdomea_sample
from tests.support.intake import KOELN
from tests.support.pipeline import running

pytestmark = pytest.mark.kafka

AUTHORITY = "jobcenter-koeln"
LIMIT = 64 * 1024
"""AMTSWEG_MAX_JSON_BODY_BYTES in this test: the sample messages fit, the padded one not."""

Headers = list[tuple[str, bytes]]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AMTSWEG_MAX_JSON_BODY_BYTES", str(LIMIT))
    return tmp_path


def _from(portal: str, key: str) -> Headers:
    return [(headers.PORTAL_ID, portal.encode()), (headers.IDEMPOTENCY_KEY, key.encode())]


async def _reader(bootstrap_servers: str, topic: str) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    return consumer


async def _collect(
    consumer: AIOKafkaConsumer, wanted: set[bytes], timeout: float = 90
) -> dict[bytes, list[ConsumerRecord[bytes, bytes]]]:
    """Records whose key is in ``wanted``, once each key was seen (then a second's more)."""
    found: dict[bytes, list[ConsumerRecord[bytes, bytes]]] = {}
    loop = asyncio.get_running_loop()
    deadline, settle = loop.time() + timeout, None
    while loop.time() < min(deadline, settle or deadline):
        for records in (await consumer.getmany(timeout_ms=200)).values():
            for record in records:
                if record.key in wanted:
                    found.setdefault(record.key, []).append(record)
        if settle is None and wanted <= found.keys():
            settle = loop.time() + 1.0
    return found


@pytest.fixture
async def producer(kafka: BrokerHandle) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await client.start()
    yield client
    await client.stop()


@pytest.mark.parametrize("backlog", [False, True], ids=["while-running", "one-batch"])
async def test_intake_topic_to_authority_with_dead_letters_on_the_way(
    kafka: BrokerHandle, data_dir: Path, producer: AIOKafkaProducer, backlog: bool
) -> None:
    """With ``backlog`` all messages wait before the intake starts, so they come in one batch
    (duplicate, conflicting copy and refused messages next to each other)."""
    run = uuid.uuid4().hex[:10]
    valid = json.dumps(json_request(xdomea_sample(), routing=KOELN)).encode()
    later = json.dumps(
        json_request(xdomea_sample("xx_Aussonderung.Bewertungsverzeichnis.0502.xml"))
    ).encode()
    metadata_invalid = json_request(xdomea_sample())
    del metadata_invalid["metadata"]["contentStructure"]["attachments"]
    hash_mismatch = json_request(xdomea_sample())
    hash_mismatch["data"] = json_request(b"<other/>")["data"]
    padded = json.dumps({**json.loads(valid), "padding": "x" * LIMIT}).encode()
    bad: dict[str, tuple[bytes, Headers, str]] = {
        "not-json": (b"\x00not json", _from("portal-a", f"{run}-b1"), "malformed-request"),
        "unknown-portal": (valid, _from("portal-z", f"{run}-b2"), "unknown-portal"),
        "portal-not-utf8": (
            valid,
            [(headers.PORTAL_ID, b"\xffportal-a"), (headers.IDEMPOTENCY_KEY, b"k")],
            "malformed-request",
        ),
        "metadata": (
            json.dumps(metadata_invalid).encode(),
            _from("portal-a", f"{run}-b3"),
            "invalid-metadata",
        ),
        "hash": (
            json.dumps(hash_mismatch).encode(),
            _from("portal-a", f"{run}-b4"),
            "data-hash-mismatch",
        ),
        "conflict": (later, _from("portal-a", f"{run}-valid"), "idempotency-key-reused"),
        "oversize": (padded, _from("portal-a", f"{run}-b5"), "payload-too-large"),
    }
    first = submission_id_for("portal-a", f"{run}-valid")
    second = submission_id_for("portal-b", f"{run}-later")

    def kafka_key(name: str) -> bytes:
        # The conflicting copy shares the original's key, as a portal's would: the same
        # partition keeps them in order (across partitions "first" would be arbitrary).
        return f"{run}-{'valid' if name == 'conflict' else name}".encode()

    async def send(name: str, value: bytes, given: Headers) -> None:
        await producer.send_and_wait(topics.INTAKE, value, key=kafka_key(name), headers=given)

    dead = await _reader(kafka.bootstrap_servers, topics.INTAKE_DLQ)
    received = await _reader(kafka.bootstrap_servers, topics.RECEIVED)
    delivered = await _reader(kafka.bootstrap_servers, topics.delivery_topic(AUTHORITY))

    async def send_all() -> None:
        await send("valid", valid, _from("portal-a", f"{run}-valid"))
        await send("valid", valid, _from("portal-a", f"{run}-valid"))  # a duplicate
        for name, (value, given, _) in bad.items():
            await send(name, value, given)
        body_identity = {
            **json.loads(later),
            "portalId": "portal-b",
            "idempotencyKey": f"{run}-later",
        }
        await send("later", json.dumps(body_identity).encode(), [])

    try:
        if backlog:
            await send_all()
        async with running(set(SERVICES), kafka.bootstrap_servers):
            if not backlog:
                await send_all()
            letters = await _collect(dead, {kafka_key(name) for name in bad})
            events = await _collect(received, {str(first).encode(), str(second).encode()})
            envelopes = await _collect(delivered, {str(first).encode()})
    finally:
        for consumer in (dead, received, delivered):
            await consumer.stop()

    for name, (value, _, slug) in bad.items():
        [letter] = letters[kafka_key(name)]
        assert letter.value == value, name
        found = dict(letter.headers)
        assert json.loads(found[headers.PROBLEM])["type"] == PROBLEM_BASE + slug, name
        assert found[headers.ORIGINAL_TOPIC] == topics.INTAKE.encode()
        assert int(found[headers.ORIGINAL_OFFSET]) >= 0

    first_events = [json.loads(r.value) for r in events[str(first).encode()]]
    assert {e["hash"] for e in first_events} == {first_events[0]["hash"]}  # one Received
    assert len(events[str(second).encode()]) >= 1  # produced after the bad ones
    delivery_ids = {json.loads(r.value)["deliveryId"] for r in envelopes[str(first).encode()]}
    assert len(delivery_ids) == 1

    ledger = Ledger(LedgerSettings())
    try:
        assert sorted(ledger.submission_ids()) == sorted([first, second])
        trail = [e.event for e in ledger.trail(first)]
        assert trail == ["Received", "Validated", "Routed", "Dispatched"]
        assert ledger.get_submission(first).authority_id == AUTHORITY
    finally:
        ledger.close()
