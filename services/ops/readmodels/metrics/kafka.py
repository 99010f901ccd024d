"""What the broker knows: consumer groups' lag and how many dead letters a topic holds.

Lag is, per consumer group and topic, the sum over partitions of the end offset minus
the group's committed offset (a partition the group never committed counts from the
partition's beginning, as ``auto_offset_reset="earliest"`` reads it). Only groups whose
name starts with ``amtsweg`` are read: Amtsweg's services and the reference receivers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts.kafka_security import KafkaSecurity, client_options

GROUP_PREFIX = "amtsweg"


class KafkaOffsets:
    """Reads offsets with an admin client and a group-less consumer (no commits, no joins)."""

    def __init__(
        self,
        bootstrap_servers: str,
        group_prefix: str = GROUP_PREFIX,
        *,
        security: KafkaSecurity | None = None,
    ) -> None:
        """``security``: TLS and SASL (None: from the environment, ``KAFKA_…``)."""
        self._prefix = group_prefix
        options = client_options(security)
        self._admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap_servers, client_id="amtsweg-metrics", **options
        )
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            client_id="amtsweg-metrics",
            **options,
        )

    async def start(self) -> None:
        """Connect both clients."""
        await self._admin.start()
        await self._consumer.start()

    async def close(self) -> None:
        """Disconnect both clients."""
        await self._consumer.stop()
        await self._admin.close()

    async def consumer_lag(self) -> dict[tuple[str, str], int]:
        """(group, topic) → messages not yet committed by the group."""
        listed = await self._admin.list_consumer_groups()
        groups = sorted(str(g[0]) for g in listed if str(g[0]).startswith(self._prefix))
        committed: dict[str, dict[TopicPartition, int]] = {}
        for group in groups:
            offsets = await self._admin.list_consumer_group_offsets(group)
            committed[group] = {tp: meta.offset for tp, meta in offsets.items()}
        topics = {tp.topic for offsets in committed.values() for tp in offsets}
        partitions = await self._partitions(topics)
        begin = await self._consumer.beginning_offsets(partitions) if partitions else {}
        end = await self._consumer.end_offsets(partitions) if partitions else {}
        lag: dict[tuple[str, str], int] = defaultdict(int)
        for group, offsets in committed.items():
            for topic in sorted({tp.topic for tp in offsets}):
                for tp in (p for p in partitions if p.topic == topic):
                    done = offsets.get(tp, -1)
                    lag[group, topic] += max(0, end[tp] - (done if done >= 0 else begin[tp]))
        return dict(lag)

    async def topic_offsets(self, topic: str) -> tuple[int, int]:
        """Sums over a topic's partitions: (end offsets, end minus beginning offsets).

        The first is every message ever written, the second those still retained.
        """
        partitions = await self._partitions([topic])
        if not partitions:
            return 0, 0
        begin = await self._consumer.beginning_offsets(partitions)
        end = await self._consumer.end_offsets(partitions)
        return sum(end.values()), sum(end[tp] - begin[tp] for tp in partitions)

    async def _partitions(self, topics: Iterable[str]) -> list[TopicPartition]:
        wanted = sorted(set(topics))
        if not wanted:
            return []
        described = await self._admin.describe_topics(wanted)
        return [
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            if topic.get("error_code") == 0  # a topic that does not exist (yet) has none
            for partition in sorted(topic.get("partitions") or [], key=lambda p: p["partition"])
        ]
