"""The intake topics' short retention on the real broker: set at creation and on a topic
that exists already, keeping the topic's other overrides."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from contracts import topics
from deploy.broker import BrokerHandle
from deploy.topics import ensure_topics
from services.ops.app.settings import RunSettings

pytestmark = pytest.mark.kafka

WEEK_MS = str(7 * 24 * 3_600_000)


async def _configs(bootstrap_servers: str, topic: str) -> dict[str, Any]:
    """Every configuration value of ``topic`` as the broker answers it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    (resource,) = [r for response in responses for r in response.to_object()["resources"]]
    assert resource["error_code"] == 0, resource["error_message"]
    return {e["config_names"]: e["config_value"] for e in resource["config_entries"]}


async def _configs_once_settled(
    bootstrap_servers: str, topic: str, expected: dict[str, str]
) -> dict[str, Any]:
    """The topic's configuration once it shows ``expected``, or after 10 s as it is (the
    broker may apply a committed change to what it answers a moment later)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        configs = await _configs(bootstrap_servers, topic)
        if all(configs.get(k) == v for k, v in expected.items()) or loop.time() > deadline:
            return configs
        await asyncio.sleep(0.2)


def _intake_retention(topic: str, settings: RunSettings) -> dict[str, dict[str, str]]:
    """The configuration Amtsweg gives ``amtsweg.intake``, for a test topic of our own."""
    return {topic: settings.topic_configs()[topics.INTAKE]}


async def test_a_new_topic_is_created_with_the_short_retention(kafka: BrokerHandle) -> None:
    topic = f"test.retention.{uuid.uuid4().hex}"
    settings = RunSettings(intake_retention_seconds=3600)

    await ensure_topics(
        kafka.bootstrap_servers, [topic], 1, topic_configs=_intake_retention(topic, settings)
    )

    configs = await _configs_once_settled(
        kafka.bootstrap_servers, topic, {"retention.ms": "3600000"}
    )
    assert configs["retention.ms"] == "3600000"
    assert configs["segment.ms"] == "3600000"
    assert configs["cleanup.policy"] == "delete"


async def test_an_existing_topic_gets_the_retention_and_keeps_its_other_overrides(
    kafka: BrokerHandle,
) -> None:
    topic = f"test.retention.{uuid.uuid4().hex}"
    before = {"retention.ms": WEEK_MS, "max.message.bytes": "2097152"}
    await ensure_topics(kafka.bootstrap_servers, [topic], 1, configs=before)
    settled = await _configs_once_settled(kafka.bootstrap_servers, topic, before)
    assert settled["retention.ms"] == WEEK_MS
    settings = RunSettings(intake_retention_seconds=86400)

    await ensure_topics(
        kafka.bootstrap_servers, [topic], 1, topic_configs=_intake_retention(topic, settings)
    )
    await ensure_topics(  # again: nothing left to change, nothing fails
        kafka.bootstrap_servers, [topic], 1, topic_configs=_intake_retention(topic, settings)
    )

    configs = await _configs_once_settled(
        kafka.bootstrap_servers, topic, {"retention.ms": "86400000"}
    )
    assert configs["retention.ms"] == "86400000"
    assert configs["segment.ms"] == "3600000"
    assert configs["max.message.bytes"] == "2097152"  # AlterConfigs replaces all: kept


async def test_a_topic_without_configuration_given_is_left_as_it_is(
    kafka: BrokerHandle,
) -> None:
    topic = f"test.retention.{uuid.uuid4().hex}"
    other = f"test.retention.{uuid.uuid4().hex}"
    await ensure_topics(kafka.bootstrap_servers, [topic], 1, configs={"retention.ms": WEEK_MS})

    await ensure_topics(
        kafka.bootstrap_servers,
        [topic, other],
        1,
        topic_configs=_intake_retention(other, RunSettings()),
    )

    created = await _configs_once_settled(
        kafka.bootstrap_servers, other, {"retention.ms": "86400000"}
    )
    assert created["retention.ms"] == "86400000"
    assert (await _configs(kafka.bootstrap_servers, topic))["retention.ms"] == WEEK_MS
