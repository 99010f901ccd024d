"""The relay (transactional outbox): ledger notification log → Kafka, in order.

Services only append to the ledger; the relay alone writes to Kafka. It reads the
notification log from its durable position, publishes each event keyed by submission id
(so one application's events stay in one partition, in order), waits for the broker's
acknowledgement of the whole batch, and only then stores the new position. A crash
between the two republishes a batch: at-least-once, and the services' state machines
make a repeated message change nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from eventsourcing.persistence import Notification

from events.ledger import Ledger
from events.outbox import Outbound, messages_for
from events.relay_store import RelayStore, Witness
from events.submission import Submission

log = structlog.get_logger(__name__)

IDLE_SLEEP_MIN = 0.005
IDLE_SLEEP_MAX = (
    0.02  # an idle relay looks every 20 ms: each hop of a submission waits at most that
)
ERROR_SLEEP_MIN = 0.1
ERROR_SLEEP_MAX = 5.0


class Relay:
    """Publishes the ledger's events to Kafka; one ordered reader per ledger."""

    def __init__(
        self,
        ledger: Ledger,
        store: RelayStore,
        producer: AIOKafkaProducer,
        *,
        name: str = "relay",
        batch_size: int = 500,
        stop_at: int | None = None,
        prepare: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._ledger = ledger
        self._store = store
        self._producer = producer
        self._name = name
        self._batch_size = batch_size
        self._stop_at = stop_at
        """The last position to publish (a replay's end); None: follow the log."""
        self._prepare = prepare
        """Awaited with each message's topic before it is sent (creates a delivery topic
        the first time an authority gets a delivery); None: topics exist already."""
        self.position = store.position(name)
        self.published = 0

    async def publish_batch(self) -> int:
        """Publish the next batch of notifications; return how many were published."""
        notifications: Sequence[Notification] = await asyncio.to_thread(
            self._ledger.recorder.select_notifications,
            self.position,
            self._batch_size,
            self._stop_at,
            inclusive_of_start=False,
        )
        if not notifications:
            return 0
        witnesses: dict[str, Witness] = {}
        pending = []
        for notification in notifications:
            event = self._ledger.mapper.to_domain_event(notification)
            assert isinstance(event, Submission.Event)
            pending.extend([await self._send(outbound) for outbound in messages_for(event)])
            submission_id = str(event.originator_id)
            witnesses[submission_id] = Witness(submission_id, event.originator_version, event.hash)
        await asyncio.gather(*pending)
        position = notifications[-1].id
        await asyncio.to_thread(self._store.advance, self._name, position, witnesses.values())
        self.position = position
        self.published += len(notifications)
        log.debug("relay.published", count=len(notifications), position=position)
        return len(notifications)

    async def _send(self, outbound: Outbound) -> asyncio.Future[object]:
        if self._prepare is not None:
            await self._prepare(outbound.topic)
        future: asyncio.Future[object] = await self._producer.send(
            outbound.topic,
            value=outbound.value,
            key=outbound.key,
            headers=list(outbound.headers),
        )
        return future

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set; back off while the log is idle or the broker fails."""
        sleep = IDLE_SLEEP_MIN
        failures = 0
        log.info("relay.started", relay=self._name, position=self.position)
        while not stop.is_set():
            try:
                published = await self.publish_batch()
            except KafkaError as error:  # the batch is published again from the stored position
                failures += 1
                sleep = min(ERROR_SLEEP_MIN * 2**failures, ERROR_SLEEP_MAX)
                log.warning("relay.publish_failed", error=type(error).__name__, retry_in=sleep)
                published = 0
            else:
                failures = 0
                if published:
                    sleep = IDLE_SLEEP_MIN
                    continue
                sleep = min(sleep * 2, IDLE_SLEEP_MAX)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=sleep)
        log.info("relay.stopped", relay=self._name, position=self.position)


def relay_producer(bootstrap_servers: str) -> AIOKafkaProducer:
    """The relay's producer: acks from all replicas, idempotent within its session.

    aiokafka's idempotence only removes duplicates the producer itself causes by
    retrying within one session; it does not span restarts. Amtsweg's guarantees do not
    rest on it: consumers are idempotent through the ledger's state machine.
    """
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=1024 * 1024,  # 16 KiB (the default) sends every envelope alone
        max_request_size=8 * 1024 * 1024,
    )
