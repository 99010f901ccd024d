"""The relay creates an authority's delivery topic on its first delivery, once."""

from __future__ import annotations

import pytest

from contracts.kafka_security import KafkaSecurity
from services.ops.app import topic_preparer
from services.ops.app.topic_preparer import TopicPreparer


async def test_only_unknown_delivery_topics_are_created_and_only_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created: list[tuple[str, list[str], int, tuple[int | None, int | None], object]] = []

    async def ensure(
        bootstrap: str,
        names: list[str],
        partitions: int,
        replication_factor: int | None,
        min_insync_replicas: int | None,
        configs: dict[str, str] | None,
        security: KafkaSecurity | None,
    ) -> None:
        assert security is given
        replication = (replication_factor, min_insync_replicas)
        created.append((bootstrap, names, partitions, replication, configs))

    monkeypatch.setattr(topic_preparer, "ensure_topics", ensure)
    given = KafkaSecurity.plaintext()
    prepare = TopicPreparer(
        "kafka:9092",
        6,
        known=["amtsweg.delivery.known"],
        max_message_bytes=1_048_576,
        replication_factor=3,
        min_insync_replicas=2,
        security=given,
    )

    for topic in (
        "amtsweg.submissions.dispatched",  # created at start-up
        "amtsweg.delivery.receipts",
        "amtsweg.delivery.known",
        "amtsweg.delivery.jobcenter-koeln",
        "amtsweg.delivery.jobcenter-koeln",
    ):
        await prepare(topic)

    limit = {"max.message.bytes": "1048576"}  # the broker accepts what the relay sends
    replicated = (3, 2)  # as every topic Amtsweg creates
    assert created == [("kafka:9092", ["amtsweg.delivery.jobcenter-koeln"], 6, replicated, limit)]
