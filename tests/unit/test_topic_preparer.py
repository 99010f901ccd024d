"""The relay creates an authority's delivery topic on its first delivery, once."""

from __future__ import annotations

import pytest

from contracts.kafka_security import KafkaSecurity
from services.ops.app import topic_preparer
from services.ops.app.topic_preparer import TopicPreparer


async def test_only_unknown_delivery_topics_are_created_and_only_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created: list[tuple[str, list[str], int, dict[str, str] | None]] = []

    async def ensure(
        bootstrap: str,
        names: list[str],
        partitions: int,
        configs: dict[str, str] | None,
        security: KafkaSecurity | None,
    ) -> None:
        assert security is given
        created.append((bootstrap, names, partitions, configs))

    monkeypatch.setattr(topic_preparer, "ensure_topics", ensure)
    given = KafkaSecurity.plaintext()
    prepare = TopicPreparer(
        "kafka:9092",
        6,
        known=["amtsweg.delivery.known"],
        max_message_bytes=1_048_576,
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
    assert created == [("kafka:9092", ["amtsweg.delivery.jobcenter-koeln"], 6, limit)]
