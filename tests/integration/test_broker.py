"""The broker chain gives a real Kafka; the local broker caches its jars and restarts."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from deploy.broker import BrokerHandle
from deploy.kafka_artifacts import resolve_artifacts
from deploy.local_kafka import LocalKafka
from deploy.topics import ensure_topics

pytestmark = pytest.mark.kafka


async def _produce(bootstrap_servers: str, topic: str, key: bytes, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def _consume_one(bootstrap_servers: str, topic: str) -> tuple[bytes, bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=f"test-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=30)
    finally:
        await consumer.stop()
    return message.key, message.value


async def test_message_travels_through_the_broker(kafka: BrokerHandle) -> None:
    topic = f"test.roundtrip.{uuid.uuid4().hex}"
    await ensure_topics(kafka.bootstrap_servers, [topic])

    await _produce(kafka.bootstrap_servers, topic, b"submission-1", b"Received")

    assert await _consume_one(kafka.bootstrap_servers, topic) == (b"submission-1", b"Received")


async def test_ensure_topics_is_idempotent(kafka: BrokerHandle) -> None:
    topic = f"test.topics.{uuid.uuid4().hex}"

    await ensure_topics(kafka.bootstrap_servers, [topic], partitions=3)
    await ensure_topics(kafka.bootstrap_servers, [topic, topic], partitions=5)

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    assert len(described["partitions"]) == 3


def test_cached_jars_start_without_maven_and_restart_keeps_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolve_artifacts()  # with the real PATH: fills the cache if this machine has none yet
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    called = tmp_path / "mvn-was-called"
    fake_mvn = fake_bin / "mvn"
    fake_mvn.write_text(f"#!/bin/sh\ntouch '{called}'\nexit 1\n", encoding="utf-8")
    fake_mvn.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    broker = LocalKafka(tmp_path / "fresh-data")
    topic = "test.restart"

    try:
        broker.start()
        asyncio.run(_produce(broker.bootstrap_servers, topic, b"k", b"before restart"))
        port_before = broker.bootstrap_servers
        broker.restart()
        received = asyncio.run(_consume_one(broker.bootstrap_servers, topic))
    finally:
        broker.stop()

    assert not called.exists(), "mvn ran although the jar cache was complete"
    assert broker.bootstrap_servers == port_before
    assert received == (b"k", b"before restart")
