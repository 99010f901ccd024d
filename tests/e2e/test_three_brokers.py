"""On three brokers, Amtsweg's topics have three replicas, and losing one loses nothing.

A real three-node KRaft cluster (:class:`deploy.local_cluster.LocalKafkaCluster`): the
services create their topics with ``AMTSWEG_TOPIC_REPLICATION_FACTOR`` 3 and
``AMTSWEG_TOPIC_MIN_INSYNC_REPLICAS`` 2. One submission reaches its authority's topic
with all three brokers up; then the broker that leads the most partitions is SIGKILLed
and a second submission still reaches the topic: the relay's ``acks=all`` writes are
acknowledged by the two replicas left in sync, as ``min.insync.replicas`` 2 allows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from contracts import topics
from deploy.local_cluster import LocalKafkaCluster
from deploy.topics import topic_overrides
from harness.cluster.admin import describe_all
from harness.cluster.leaders import busiest_leader, replication_factors
from tests.support.factories import CHAIN_KEYS_ENV, json_request, xdomea_sample
from tests.support.pipeline import auth, read_until, running, topic_reader

AUTHORITY_TOPIC = topics.delivery_topic("jobcenter-koeln")
COLOGNE = {"ars": "053150000000"}


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalKafkaCluster]:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path / "amtsweg"))
    for name, value in CHAIN_KEYS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AMTSWEG_TOPIC_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("AMTSWEG_TOPIC_MIN_INSYNC_REPLICAS", "2")
    monkeypatch.setenv("AMTSWEG_TOPIC_PARTITIONS", "1")  # fewer to create: a shorter start
    started = LocalKafkaCluster(tmp_path / "kafka")
    started.start()
    try:
        yield started
    finally:
        started.stop()


async def _min_insync(bootstrap_servers: str, names: list[str]) -> dict[str, str | None]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        asked = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        answers = await admin.describe_configs(asked)
    finally:
        await admin.close()
    resources: list[dict[str, Any]] = [
        r for answer in answers for r in answer.to_object()["resources"]
    ]
    return {r["resource_name"]: topic_overrides(r).get("min.insync.replicas") for r in resources}


async def _submit(client: httpx.AsyncClient, key: str) -> str:
    answer = await client.post(
        "/v1/submissions",
        json=json_request(xdomea_sample(), routing=COLOGNE),
        headers={**auth(), "Idempotency-Key": key},
    )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["submissionId"])


async def test_a_submission_reaches_its_authority_with_one_of_three_brokers_killed(
    cluster: LocalKafkaCluster,
) -> None:
    servers = cluster.bootstrap_servers
    pipeline = {"intake", "validation", "routing", "delivery", "relay"}
    async with (
        running(pipeline, servers) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as client,
    ):
        first = await _submit(client, "three-brokers-1")
        async with topic_reader(servers, AUTHORITY_TOPIC) as reader:
            before = await read_until(reader, 1, timeout=90)
        assert [e["submissionId"] for e in before] == [first]

        described = await describe_all(servers)
        ours = {t: n for t, n in replication_factors(described).items() if t.startswith("amtsweg.")}
        assert AUTHORITY_TOPIC in ours
        assert topics.RECEIVED in ours
        assert set(ours.values()) == {3}
        insync = await _min_insync(servers, sorted(ours))
        assert set(insync.values()) == {"2"}, insync

        victim = busiest_leader(described, cluster.members)
        cluster.kill(victim)
        assert not cluster.running(victim)

        second = await _submit(client, "three-brokers-2")
        async with topic_reader(servers, AUTHORITY_TOPIC) as reader:
            after = await read_until(reader, 2, timeout=120)
        assert sorted(e["submissionId"] for e in after) == sorted([first, second])
        assert len({e["deliveryId"] for e in after}) == 2
