"""Creating a delivery or portal topic when the relay first publishes to it.

The national directory names about two thousand authorities; creating all their topics
at every start would cost minutes of broker start-up (and partitions nobody uses), so
the relay creates a delivery topic on its first delivery, once per process; a portal's
topic (``amtsweg.portal.<portal-id>``) likewise on its first reply. Every other topic is
created at start-up.
"""

from __future__ import annotations

from collections.abc import Iterable

from contracts import topics
from contracts.kafka_security import KafkaSecurity
from deploy.topics import ensure_topics

_PREPARED = (topics.DELIVERY_PREFIX, topics.PORTAL_PREFIX)


class TopicPreparer:
    """Awaited by the relay with each topic before it sends; creates delivery and portal
    topics."""

    def __init__(
        self,
        bootstrap_servers: str,
        partitions: int,
        known: Iterable[str] = (),
        *,
        max_message_bytes: int | None = None,
        replication_factor: int | None = None,
        min_insync_replicas: int | None = None,
        security: KafkaSecurity | None = None,
    ) -> None:
        """``max_message_bytes``: the relay's message limit, made the delivery topics'
        ``max.message.bytes``, so that the broker never refuses what the relay's producer
        accepts (a refusal by the producer is parked; one by the broker would be retried);
        ``replication_factor``, ``min_insync_replicas``: as every topic Amtsweg creates
        (``AMTSWEG_TOPIC_REPLICATION_FACTOR``, ``AMTSWEG_TOPIC_MIN_INSYNC_REPLICAS``);
        ``security``: the admin client's TLS and SASL (None: from the environment)."""
        self._bootstrap_servers = bootstrap_servers
        self._configs = (
            {"max.message.bytes": str(max_message_bytes)} if max_message_bytes is not None else None
        )
        self._security = security
        self._partitions = partitions
        self._replication_factor = replication_factor
        self._min_insync_replicas = min_insync_replicas
        self._ready = {*known, topics.RECEIPTS}

    async def __call__(self, topic: str) -> None:
        if topic in self._ready or not topic.startswith(_PREPARED):
            return
        await ensure_topics(
            self._bootstrap_servers,
            [topic],
            partitions=self._partitions,
            replication_factor=self._replication_factor,
            min_insync_replicas=self._min_insync_replicas,
            configs=self._configs,
            security=self._security,
        )
        self._ready.add(topic)
