"""Creating Amtsweg's topics ahead of use, idempotently."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

_log = structlog.get_logger(__name__)

_MAX_REPLICATION = 3
_GIVE_UP_AFTER_S = 30.0


async def ensure_topics(
    bootstrap_servers: str,
    names: Iterable[str],
    partitions: int = 3,
    *,
    replication_factor: int | None = None,
    configs: Mapping[str, str] | None = None,
) -> None:
    """Create the topics ``names`` that do not exist yet and wait until they have leaders.

    Existing topics are left as they are (their partition count and configuration are
    not changed); ``configs`` (e.g. ``max.message.bytes``) apply to the topics created.
    ``replication_factor`` defaults to the number of brokers, at most 3. Gives up with
    :class:`TimeoutError` after 30 s; wrap in ``asyncio.timeout`` for a shorter limit.
    """
    wanted = sorted(set(names))
    if not wanted:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="amtsweg-topics")
    try:
        async with asyncio.timeout(_GIVE_UP_AFTER_S):
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [name for name in wanted if name not in existing]
            if missing:
                replicas = replication_factor or await _default_replication(admin)
                await _create(admin, missing, partitions, replicas, configs or {})
            await _wait_for_leaders(admin, wanted)
    finally:
        await admin.close()


async def _default_replication(admin: AIOKafkaAdminClient) -> int:
    cluster = await admin.describe_cluster()
    return max(1, min(_MAX_REPLICATION, len(cluster["brokers"])))


async def _create(
    admin: AIOKafkaAdminClient,
    names: list[str],
    partitions: int,
    replicas: int,
    configs: Mapping[str, str],
) -> None:
    response = await admin.create_topics(
        [NewTopic(name, partitions, replicas, topic_configs=dict(configs)) for name in names]
    )
    for topic, code, *message in response.topic_errors:
        error = for_code(code)
        if code == 0 or error is TopicAlreadyExistsError:
            continue
        detail = message[0] if message and message[0] else error.description
        msg = f"creating topic {topic!r} failed: {error.__name__}: {detail}"
        raise error(msg)
    _log.info("kafka.topics.created", topics=names, partitions=partitions, replicas=replicas)


async def _wait_for_leaders(admin: AIOKafkaAdminClient, names: list[str]) -> None:
    while True:
        described = await admin.describe_topics(names)
        if len(described) == len(names) and all(_has_leaders(topic) for topic in described):
            return
        await asyncio.sleep(0.1)


def _has_leaders(topic: dict[str, Any]) -> bool:
    partitions = topic.get("partitions") or []
    return (
        topic.get("error_code") == 0
        and bool(partitions)
        and all(partition.get("leader", -1) >= 0 for partition in partitions)
    )


async def await_group_coordinator(bootstrap_servers: str, limit_s: float = 60.0) -> None:
    """Wait until the cluster can coordinate consumer groups.

    A fresh broker creates its offsets topic on the first group request; consumers that
    start before that log a burst of ``GroupCoordinatorNotAvailable`` errors.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="amtsweg-groups")
    try:
        async with asyncio.timeout(limit_s):
            await admin.start()
            while True:
                try:
                    await admin.find_coordinator("amtsweg")
                except KafkaError:
                    await asyncio.sleep(0.1)
                else:
                    return
    finally:
        await admin.close()
