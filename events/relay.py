"""The relay (transactional outbox): ledger notification log → broker, in order.

Services only append to the ledger; the relay alone publishes. It reads the notification
log from its durable position, hands each event's messages to its ``Publisher`` keyed by
submission id (so one application's events stay in one partition, in order), waits for
the broker's acknowledgement of the whole batch, and only then stores the new position.
A crash between the two republishes a batch: at-least-once, and the services' state
machines make a repeated message change nothing. Running it (polling, backing off) is
``services.runtime.relay_loop``; the Kafka publisher is ``services.runtime.kafka``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence

import structlog
from eventsourcing.persistence import Notification

from events.ledger import Ledger
from events.outbox import OpenEnvelope, Outbound, SignEnvelope, messages_for
from events.publisher import Publisher
from events.relay_store import RelayStore, Witness
from events.submission import Submission

log = structlog.get_logger(__name__)


class Relay:
    """Publishes the ledger's events; one ordered reader per ledger."""

    def __init__(
        self,
        ledger: Ledger,
        store: RelayStore,
        publisher: Publisher,
        *,
        envelopes: OpenEnvelope,
        sign_envelopes: SignEnvelope | None = None,
        name: str = "relay",
        batch_size: int = 500,
        stop_at: int | None = None,
    ) -> None:
        self._ledger = ledger
        self._store = store
        self._publisher = publisher
        self._envelopes = envelopes
        """Opens the sealed envelopes of deliveries (``Vault.envelope``)."""
        self._sign = sign_envelopes
        """Signs each envelope it publishes (Amtsweg's envelope signing key)."""
        self.name = name
        self._batch_size = batch_size
        self._stop_at = stop_at
        """The last position to publish (a replay's end); None: follow the log."""
        self.position = store.position(name)
        self.published = 0

    async def publish_batch(self) -> int:
        """Publish the next batch of notifications; return how many were published.

        Raises ``PublishError`` when the broker fails; the position is then unchanged, so
        the next call publishes the same batch again.
        """
        notifications: Sequence[Notification] = await asyncio.to_thread(
            self._ledger.recorder.select_notifications,
            self.position,
            self._batch_size,
            self._stop_at,
            inclusive_of_start=False,
        )
        if not notifications:
            return 0
        translated = await asyncio.to_thread(self._translate, notifications)
        witnesses: dict[str, Witness] = {}
        pending: list[Awaitable[object]] = []
        for event, outbound in translated:
            pending.extend([await self._publisher.send(message) for message in outbound])
            submission_id = str(event.originator_id)
            witnesses[submission_id] = Witness(submission_id, event.originator_version, event.hash)
        await asyncio.gather(*pending)
        position = notifications[-1].id
        await asyncio.to_thread(self._store.advance, self.name, position, witnesses.values())
        self.position = position
        self.published += len(notifications)
        log.debug("relay.published", count=len(notifications), position=position)
        return len(notifications)

    def _translate(
        self, notifications: Sequence[Notification]
    ) -> list[tuple[Submission.Event, list[Outbound]]]:
        """Each notification's event and messages (envelopes opened from the vault: blocking)."""
        translated = []
        for notification in notifications:
            event = self._ledger.mapper.to_domain_event(notification)
            assert isinstance(event, Submission.Event)
            translated.append((event, messages_for(event, self._envelopes, self._sign)))
        return translated
