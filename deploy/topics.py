"""Creating Amtsweg's topics ahead of use, idempotently, and keeping their configuration.

aiokafka's admin client offers only the legacy ``AlterConfigs`` request (no
``IncrementalAlterConfigs``), which replaces a topic's whole set of overrides. So a
configuration is applied to an existing topic by reading its overrides first
(``DescribeConfigs``), changing only the wanted entries and writing the whole set back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from contracts.kafka_security import KafkaSecurity, client_options

_log = structlog.get_logger(__name__)

_MAX_REPLICATION = 3
_GIVE_UP_AFTER_S = 30.0
_DYNAMIC_TOPIC_CONFIG = 1
"""``config_source`` of a topic's own override (DescribeConfigs v1 and later)."""


class TopicConfigError(Exception):
    """A topic's configuration cannot be read or set (rights, policy, invalid value).

    Not a ``KafkaError``: waiting for the broker does not help, an operator must act.
    """


async def ensure_topics(
    bootstrap_servers: str,
    names: Iterable[str],
    partitions: int = 3,
    *,
    replication_factor: int | None = None,
    min_insync_replicas: int | None = None,
    configs: Mapping[str, str] | None = None,
    topic_configs: Mapping[str, Mapping[str, str]] | None = None,
    security: KafkaSecurity | None = None,
) -> None:
    """Create the topics ``names`` that do not exist yet and wait until they have leaders.

    Existing topics keep their partition count; ``configs`` (e.g. ``max.message.bytes``)
    apply to the topics created. ``topic_configs`` (topic → configuration, e.g. a
    retention) applies to those of ``names`` when they are created *and* when they exist
    with other values (their other overrides are kept); it raises :class:`TopicConfigError`
    when the broker refuses. ``replication_factor`` defaults to the number of brokers, at
    most 3. ``min_insync_replicas`` (None: the broker's ``min.insync.replicas``) becomes
    every one of ``names``' ``min.insync.replicas``, created or existing, so that a write
    acknowledged by ``acks=all`` is on that many replicas; more than the replication factor
    of topics being created is refused (no write could ever succeed). Gives up with
    :class:`TimeoutError` after 30 s; wrap in ``asyncio.timeout`` for a shorter limit.
    ``security``: TLS and SASL (None: from the environment).
    """
    wanted = sorted(set(names))
    per_topic = {name: c for name, c in (topic_configs or {}).items() if name in wanted}
    if min_insync_replicas is not None:
        insync = {"min.insync.replicas": str(min_insync_replicas)}
        per_topic = {name: {**per_topic.get(name, {}), **insync} for name in wanted}
    if not wanted:
        return
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id="amtsweg-topics",
        **client_options(security),
    )
    try:
        async with asyncio.timeout(_GIVE_UP_AFTER_S):
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [name for name in wanted if name not in existing]
            if missing:
                replicas = replication_factor or await _default_replication(admin)
                check_insync_replicas(replicas, min_insync_replicas)
                created = {name: {**(configs or {}), **per_topic.get(name, {})} for name in missing}
                await _create(admin, created, partitions, replicas)
            await _configure(admin, {n: c for n, c in per_topic.items() if n in existing})
            await _wait_for_leaders(admin, wanted)
    finally:
        await admin.close()


def overrides_to_write(
    current: Mapping[str, str], wanted: Mapping[str, str]
) -> dict[str, str] | None:
    """The whole set of overrides a topic needs so that ``wanted`` holds, keeping the others
    (``AlterConfigs`` replaces them all); None when ``wanted`` holds already."""
    if all(current.get(name) == value for name, value in wanted.items()):
        return None
    return {**current, **wanted}


def topic_overrides(resource: Mapping[str, Any]) -> dict[str, str]:
    """A topic's own overrides from one resource of a ``DescribeConfigs`` answer.

    Version 0 marks defaults with ``is_default``; later versions name the source, and only
    ``DYNAMIC_TOPIC_CONFIG`` is the topic's own. A sensitive override is never answered
    with its value, so it could not be kept: refused rather than silently dropped.
    """
    overrides: dict[str, str] = {}
    for entry in resource["config_entries"]:
        if "config_source" in entry:
            own = entry["config_source"] == _DYNAMIC_TOPIC_CONFIG
        else:
            own = not entry["is_default"]
        if not own or entry["read_only"]:
            continue
        if entry["config_value"] is None:
            name = resource["resource_name"]
            msg = f"topic {name!r}: override {entry['config_names']!r} has no readable value"
            raise TopicConfigError(msg)
        overrides[entry["config_names"]] = entry["config_value"]
    return overrides


async def _configure(admin: AIOKafkaAdminClient, wanted: Mapping[str, Mapping[str, str]]) -> None:
    """Set ``wanted`` on existing topics whose overrides differ."""
    if not wanted:
        return
    asked = [ConfigResource(ConfigResourceType.TOPIC, name) for name in sorted(wanted)]
    described = _resources(await admin.describe_configs(asked), "reading the configuration")
    changes = {}
    for resource in described:
        name = resource["resource_name"]
        if name in wanted:
            write = overrides_to_write(topic_overrides(resource), wanted[name])
            if write is not None:
                changes[name] = write
    if not changes:
        return
    altered = [ConfigResource(ConfigResourceType.TOPIC, n, configs=c) for n, c in changes.items()]
    _resources(await admin.alter_configs(altered), "setting the configuration")
    _log.info(
        "kafka.topics.configured",
        topics=sorted(changes),
        configs={name: dict(wanted[name]) for name in sorted(changes)},
    )


def _resources(responses: list[Any], doing: str) -> list[dict[str, Any]]:
    """The resources of ``DescribeConfigs`` / ``AlterConfigs`` answers; raises on errors."""
    resources = [r for response in responses for r in response.to_object()["resources"]]
    for resource in resources:
        code = resource["error_code"]
        if code != 0:
            error = for_code(code)
            detail = resource["error_message"] or error.description
            msg = (
                f"{doing} of topic {resource['resource_name']!r} failed: {error.__name__}: {detail}"
            )
            raise TopicConfigError(msg)
    return resources


def check_insync_replicas(replicas: int, min_insync_replicas: int | None) -> None:
    """Refuse a ``min.insync.replicas`` that no write to a new topic could ever meet."""
    if min_insync_replicas is not None and min_insync_replicas > replicas:
        msg = (
            f"min.insync.replicas {min_insync_replicas} exceeds the replication factor "
            f"{replicas}: lower AMTSWEG_TOPIC_MIN_INSYNC_REPLICAS or raise "
            "AMTSWEG_TOPIC_REPLICATION_FACTOR"
        )
        raise TopicConfigError(msg)


async def _default_replication(admin: AIOKafkaAdminClient) -> int:
    cluster = await admin.describe_cluster()
    return max(1, min(_MAX_REPLICATION, len(cluster["brokers"])))


async def _create(
    admin: AIOKafkaAdminClient,
    configs: Mapping[str, Mapping[str, str]],
    partitions: int,
    replicas: int,
) -> None:
    """Create the topics named by ``configs``, each with its configuration."""
    names = list(configs)
    response = await admin.create_topics(
        [NewTopic(name, partitions, replicas, topic_configs=dict(configs[name])) for name in names]
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


async def await_group_coordinator(
    bootstrap_servers: str, limit_s: float = 60.0, *, security: KafkaSecurity | None = None
) -> None:
    """Wait until the cluster can coordinate consumer groups.

    A fresh broker creates its offsets topic on the first group request; consumers that
    start before that log a burst of ``GroupCoordinatorNotAvailable`` errors.
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id="amtsweg-groups",
        **client_options(security),
    )
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
