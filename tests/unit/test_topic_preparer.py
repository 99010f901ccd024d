"""The relay creates an authority's delivery topic on its first delivery, once."""

from __future__ import annotations

import pytest

from contracts.kafka_security import KafkaSecurity
from services.ops.app import topic_preparer
from services.ops.app.topic_preparer import TopicPreparer


async def test_only_unknown_delivery_topics_are_created_and_only_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created: list[tuple[str, list[str], int]] = []

    async def ensure(
        bootstrap: str, names: list[str], partitions: int, security: KafkaSecurity | None
    ) -> None:
        assert security is given
        created.append((bootstrap, names, partitions))

    monkeypatch.setattr(topic_preparer, "ensure_topics", ensure)
    given = KafkaSecurity.plaintext()
    prepare = TopicPreparer("kafka:9092", 6, known=["amtsweg.delivery.known"], security=given)

    for topic in (
        "amtsweg.submissions.dispatched",  # created at start-up
        "amtsweg.delivery.receipts",
        "amtsweg.delivery.known",
        "amtsweg.delivery.jobcenter-koeln",
        "amtsweg.delivery.jobcenter-koeln",
    ):
        await prepare(topic)

    assert created == [("kafka:9092", ["amtsweg.delivery.jobcenter-koeln"], 6)]
