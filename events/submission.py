"""The Submission aggregate: one application (Antrag) and its event log.

Its state machine makes every step idempotent: a command that has already taken effect
changes nothing and returns ``False``; a command that does not fit the state raises
``InvalidTransitionError``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from events.chain import GENESIS, ChainLink

CHAIN_KEY: list[bytes | None] = [None]
"""Set once at bootstrap from the ledger settings (see ``events.ledger``)."""


class Status(StrEnum):
    """Where a submission stands."""

    RECEIVED = "received"
    VALIDATED = "validated"
    REJECTED = "rejected"
    ROUTED = "routed"
    UNROUTABLE = "unroutable"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    REFUSED = "refused"


TERMINAL = frozenset({Status.REJECTED, Status.UNROUTABLE, Status.ACCEPTED, Status.REFUSED})


class InvalidTransitionError(Exception):
    """A command does not fit the submission's state."""


class Submission(Aggregate):
    """One application and everything that happened to it."""

    class Event(Aggregate.Event):
        """Base of all Submission events: each carries its chain hashes."""

        prev_hash: str
        hash: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Submission)
            aggregate.chain_head = self.hash
            aggregate.updated_at_iso = self.timestamp.isoformat()
            self.change(aggregate)

        def change(self, submission: Submission) -> None:
            """Apply this event's effect on the state."""

    class Received(Event, Aggregate.Created):
        """A portal's submission was taken in."""

        portal_id: str
        service_identifier: str
        leika_key: str
        metadata: dict[str, Any]
        data: dict[str, Any]
        attachments: list[dict[str, Any]]
        routing_hint: dict[str, Any] | None
        request_digest: str
        idempotency_key: str | None
        correlation_id: str

    class Validated(Event):
        """The data conforms to its schema and the service's rules."""

        catalog_version: str
        schema_uri: str

        def change(self, submission: Submission) -> None:
            submission.status = Status.VALIDATED

    class Rejected(Event):
        """The data does not conform; the problems say why."""

        catalog_version: str
        problems: list[dict[str, Any]]

        def change(self, submission: Submission) -> None:
            submission.status = Status.REJECTED
            submission.problems = self.problems

    class Routed(Event):
        """The responsible authority was found."""

        authority_id: str
        region: str
        area: str
        directory_version: str

        def change(self, submission: Submission) -> None:
            submission.status = Status.ROUTED
            submission.authority_id = self.authority_id

    class Unroutable(Event):
        """No (or no single) responsible authority was found."""

        reason: str
        detail: str
        directory_version: str

        def change(self, submission: Submission) -> None:
            submission.status = Status.UNROUTABLE
            submission.problems = [{"reason": self.reason, "detail": self.detail}]

    class Dispatched(Event):
        """The delivery envelope was handed to the authority's channel."""

        delivery_id: str
        authority_id: str
        topic: str
        envelope: dict[str, Any]

        def change(self, submission: Submission) -> None:
            submission.status = Status.DISPATCHED
            submission.delivery_id = self.delivery_id

    class Accepted(Event):
        """The authority confirmed receipt and took the application on."""

        delivery_id: str
        reference: str | None

        def change(self, submission: Submission) -> None:
            submission.status = Status.ACCEPTED

    class RefusedByAuthority(Event):
        """The authority rejected the delivery or declared itself not responsible."""

        delivery_id: str
        outcome: str
        problems: list[dict[str, Any]]

        def change(self, submission: Submission) -> None:
            submission.status = Status.REFUSED
            submission.problems = self.problems

    def __init__(
        self,
        *,
        portal_id: str,
        service_identifier: str,
        leika_key: str,
        metadata: dict[str, Any],
        data: dict[str, Any],
        attachments: list[dict[str, Any]],
        routing_hint: dict[str, Any] | None,
        request_digest: str,
        idempotency_key: str | None,
        correlation_id: str,
    ) -> None:
        self.portal_id = portal_id
        self.service_identifier = service_identifier
        self.leika_key = leika_key
        self.metadata = metadata
        self.data = data
        self.attachments = attachments
        self.routing_hint = routing_hint
        self.request_digest = request_digest
        self.idempotency_key = idempotency_key
        self.correlation_id = correlation_id
        self.status = Status.RECEIVED
        self.chain_head = GENESIS
        self.updated_at_iso = ""
        self.problems: list[dict[str, Any]] = []
        self.authority_id: str | None = None
        self.delivery_id: str | None = None

    # -- commands ---------------------------------------------------------------

    @classmethod
    def receive(cls, submission_id: UUID, **fields: Any) -> Submission:
        """Create a submission from a portal's request (first event of the chain)."""
        timestamp = cls.Received.create_timestamp()
        link = ChainLink(str(submission_id), 1, "Received", timestamp, GENESIS, fields)
        return cls._create(
            cls.Received,
            id=submission_id,
            timestamp=timestamp,
            prev_hash=GENESIS,
            hash=link.digest(CHAIN_KEY[0]),
            **fields,
        )

    def validate(self, catalog_version: str, schema_uri: str) -> bool:
        """Record that the data is valid."""
        if not self._step(Status.RECEIVED, {Status.VALIDATED, Status.REJECTED}):
            return False
        self._append(self.Validated, catalog_version=catalog_version, schema_uri=schema_uri)
        return True

    def reject(self, catalog_version: str, problems: list[dict[str, Any]]) -> bool:
        """Record that the data is invalid."""
        if not self._step(Status.RECEIVED, {Status.VALIDATED, Status.REJECTED}):
            return False
        self._append(self.Rejected, catalog_version=catalog_version, problems=problems)
        return True

    def route(self, authority_id: str, region: str, area: str, directory_version: str) -> bool:
        """Record the responsible authority."""
        if not self._step(Status.VALIDATED, {Status.ROUTED, Status.UNROUTABLE}):
            return False
        self._append(
            self.Routed,
            authority_id=authority_id,
            region=region,
            area=area,
            directory_version=directory_version,
        )
        return True

    def mark_unroutable(self, reason: str, detail: str, directory_version: str) -> bool:
        """Record that no single authority is responsible."""
        if not self._step(Status.VALIDATED, {Status.ROUTED, Status.UNROUTABLE}):
            return False
        self._append(
            self.Unroutable, reason=reason, detail=detail, directory_version=directory_version
        )
        return True

    def dispatch(
        self, delivery_id: str, authority_id: str, topic: str, envelope: dict[str, Any]
    ) -> bool:
        """Record the delivery to the routed authority (the relay publishes it)."""
        if not self._step(Status.ROUTED, {Status.DISPATCHED}):
            return False
        if authority_id != self.authority_id:
            msg = f"routed to {self.authority_id}, not to {authority_id}"
            raise InvalidTransitionError(msg)
        self._append(
            self.Dispatched,
            delivery_id=delivery_id,
            authority_id=authority_id,
            topic=topic,
            envelope=envelope,
        )
        return True

    def accept(self, delivery_id: str, reference: str | None) -> bool:
        """Record the authority's acceptance."""
        if not self._receipt_step(delivery_id):
            return False
        self._append(self.Accepted, delivery_id=delivery_id, reference=reference)
        return True

    def refuse(self, delivery_id: str, outcome: str, problems: list[dict[str, Any]]) -> bool:
        """Record the authority's rejection or 'not responsible'."""
        if not self._receipt_step(delivery_id):
            return False
        self._append(
            self.RefusedByAuthority, delivery_id=delivery_id, outcome=outcome, problems=problems
        )
        return True

    # -- guards -----------------------------------------------------------------

    _ORDER = (
        Status.RECEIVED,
        Status.VALIDATED,
        Status.ROUTED,
        Status.DISPATCHED,
        Status.ACCEPTED,
    )

    def _step(self, required: Status, done: set[Status]) -> bool:
        """True if the step should happen now; False if it (or a later step) already did."""
        if self.status == required:
            return True
        if self.status in done or self._is_past(required):
            return False
        msg = f"submission {self.id} is {self.status}, not {required}"
        raise InvalidTransitionError(msg)

    def _is_past(self, status: Status) -> bool:
        if self.status in (Status.REJECTED, Status.UNROUTABLE, Status.REFUSED):
            return self._ORDER.index(status) < self._ORDER.index(_BEFORE[self.status])
        return self._ORDER.index(self.status) > self._ORDER.index(status)

    def _receipt_step(self, delivery_id: str) -> bool:
        if self.delivery_id is not None and delivery_id != self.delivery_id:
            msg = f"receipt for delivery {delivery_id}, but the delivery is {self.delivery_id}"
            raise InvalidTransitionError(msg)
        return self._step(Status.DISPATCHED, {Status.ACCEPTED, Status.REFUSED})

    def _append(self, event_class: type[Event], **fields: Any) -> None:
        timestamp = event_class.create_timestamp()
        version = self.version + 1
        link = ChainLink(
            str(self.id), version, event_class.__name__, timestamp, self.chain_head, fields
        )
        self.trigger_event(
            event_class,
            timestamp=timestamp,
            prev_hash=self.chain_head,
            hash=link.digest(CHAIN_KEY[0]),
            **fields,
        )


_BEFORE = {
    Status.REJECTED: Status.VALIDATED,
    Status.UNROUTABLE: Status.ROUTED,
    Status.REFUSED: Status.ACCEPTED,
}
"""A terminal failure state stands where its success twin would."""
