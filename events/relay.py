"""The relay (transactional outbox): ledger notification log → broker, in order.

Services only append to the ledger; the relay alone publishes. It reads the notification
log from its durable position, hands each event's messages to its ``Publisher`` keyed by
submission id (so one application's events stay in one partition, in order), waits for
the broker's acknowledgement of the whole batch, and only then stores the new position.
A crash between the two republishes a batch: at-least-once, and the services' state
machines make a repeated message change nothing. Running it (polling, backing off) is
``services.runtime.relay_loop``; the Kafka publisher is ``services.runtime.kafka``.

An event the relay cannot publish by its own fault (the broker refuses its message as too
large, or it cannot be translated: :mod:`events.failures`) does not stop the log: its
messages are sent once more alone (a message refused with a batch-mate is not the one to
blame), and if they fail again the event is parked (:mod:`events.parking`) before the
position moves past it; the events after it are published in order. A failure of the
broker itself (unreachable, timed out) leaves the position where it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence

import structlog
from eventsourcing.persistence import Notification

from events.failures import is_transient
from events.ledger import Ledger
from events.outbox import OpenEnvelope, Outbound, SignEnvelope, messages_for
from events.parking import RELAY, Parked, ParkingLot, parking_lot
from events.publisher import PermanentPublishError, Publisher
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
        parking: ParkingLot | None = None,
        token: int | None = None,
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
        self._parking = parking
        """Where unpublishable events are parked; None: the table beside the ledger,
        opened when the first one is parked."""
        self._token = token
        """The fencing token of this relay's term as leader (:mod:`events.lease`): its
        position writes are refused once a newer term exists. None: not elected (a replay)."""
        self.position = store.position(name)
        self.published = 0
        self.parked = 0

    def resume(self, token: int | None) -> None:
        """Begin a term as the elected relay (blocking): from the position the previous
        leader stored, its position writes fenced by ``token``."""
        self._token = token
        self.position = self._store.position(self.name)

    async def publish_batch(self) -> int:
        """Publish the next batch of notifications; return how many were published.

        Raises ``PublishError`` when the broker fails; the position is then unchanged, so
        the next call publishes the same batch again. Raises ``StaleLeaderError`` when
        another relay has taken over its lease: this one must stop.
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
        translated, parked = await asyncio.to_thread(self._translate, notifications)
        refused = await self._publish([outbound for _, _, outbound in translated])
        for index, error in refused.items():
            notification, event, _ = translated[index]
            parked.append(self._parked(notification, event, error))
        witnesses: dict[str, Witness] = {}
        for _, event, _ in translated:
            submission_id = str(event.originator_id)
            witnesses[submission_id] = Witness(submission_id, event.originator_version, event.hash)
        if parked:
            await asyncio.to_thread(self._park, parked)
        position = notifications[-1].id
        await asyncio.to_thread(
            self._store.advance, self.name, position, witnesses.values(), self._token
        )
        self.position = position
        self.published += len(notifications) - len(parked)
        log.debug("relay.published", count=len(notifications), position=position)
        return len(notifications)

    async def _publish(self, batch: Sequence[list[Outbound]]) -> dict[int, PermanentPublishError]:
        """Publish every event's messages; those the broker refuses alone, by their index.

        A transient failure raises ``PublishError`` (the batch is published again).
        """
        pending: list[tuple[int, Awaitable[object]]] = []
        refused: dict[int, PermanentPublishError] = {}
        for index, outbound in enumerate(batch):
            for message in outbound:
                try:
                    pending.append((index, await self._publisher.send(message)))
                except PermanentPublishError as error:
                    refused.setdefault(index, error)
        acks = await asyncio.gather(*(ack for _, ack in pending), return_exceptions=True)
        for (index, _), ack in zip(pending, acks, strict=True):
            if isinstance(ack, PermanentPublishError):
                refused.setdefault(index, ack)
            elif isinstance(ack, BaseException):
                raise ack
        still: dict[int, PermanentPublishError] = {}
        for index in sorted(refused):  # once more alone: was it this event's own message?
            alone = await self._publish_alone(batch[index])
            if alone is not None:
                still[index] = alone
        return still

    async def _publish_alone(self, outbound: list[Outbound]) -> PermanentPublishError | None:
        for message in outbound:
            try:
                await (await self._publisher.send(message))
            except PermanentPublishError as error:
                return error
        return None

    def _translate(
        self, notifications: Sequence[Notification]
    ) -> tuple[list[tuple[Notification, Submission.Event, list[Outbound]]], list[Parked]]:
        """Each notification's event and messages (envelopes opened from the vault: blocking);
        a notification that cannot be translated by its own fault is parked instead."""
        translated = []
        parked = []
        for notification in notifications:
            try:
                event = self._ledger.mapper.to_domain_event(notification)
                assert isinstance(event, Submission.Event)
                translated.append(
                    (notification, event, messages_for(event, self._envelopes, self._sign))
                )
            except Exception as error:
                if is_transient(error):
                    raise
                parked.append(self._parked(notification, None, error))
        return translated, parked

    def _parked(
        self, notification: Notification, event: Submission.Event | None, error: Exception
    ) -> Parked:
        name = type(event).__name__ if event is not None else notification.topic.rsplit(".")[-1]
        source = f"notification {notification.id}"
        submission_id = str(notification.originator_id)
        return Parked.of(RELAY, self.name, source, submission_id, name, error)

    def _park(self, parked: list[Parked]) -> None:
        """Record the events skipped (durably, before the position passes them) and log them."""
        if self._parking is None:
            self._parking = parking_lot(self._ledger.settings)
        self._parking.park(*parked)
        self.parked += len(parked)
        for letter in parked:
            log.error(
                "relay.parked",
                relay=self.name,
                letter_id=letter.letter,
                submission_id=letter.submission_id,
                event_name=letter.event,
                cause=letter.cause,
                reason=letter.reason,
            )
