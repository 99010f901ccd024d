"""The Submission aggregate: one application (Antrag) and its event log.

Each command stands right after the event it records, in the order of a submission's
life: intake, validation, routing, delivery and receipts, follow-up (reminders,
callbacks), rerouting, operator actions. Every command is idempotent; in which status it
takes effect, is a no-op (returns ``False``) or raises ``InvalidTransitionError`` is the
table in ``events.lifecycle``. Every event carries the hashes of the submission's chain
(``events.chain``), an HMAC under the ledger's chain key when one is configured.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from events.chain import GENESIS, ChainLink
from events.chain_keys import ChainKeys
from events.lifecycle import (
    REPLAY_CHANGED,
    REPLAY_INPUT,
    ContentErasedError,
    InvalidTransitionError,
    Status,
    replay_row,
    takes_effect,
)

MAX_REFUSED_RECEIPTS = 20
"""Refused receipts recorded per submission; beyond this they are only logged."""


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

    # -- intake -------------------------------------------------------------------

    class Received(Event, Aggregate.Created):
        """A portal's submission was taken in; its content is sealed in the vault.

        ``dossier`` names the sealed document of what the portal said (metadata, routing
        hint, each part's id, media type and file name); ``data`` and ``attachments`` name
        the sealed parts with the SHA-512 and size of their plaintext, attachments in the
        dossier's order.
        """

        portal_id: str
        service_identifier: str
        leika_key: str
        dossier: str
        data: dict[str, Any]
        attachments: list[dict[str, Any]]
        request_digest: str
        correlation_id: str
        chain_kid: str | None = None
        """The id of the chain key this submission is hashed under (None: the unnamed key)."""

    def __init__(
        self,
        *,
        portal_id: str,
        service_identifier: str,
        leika_key: str,
        dossier: str,
        data: dict[str, Any],
        attachments: list[dict[str, Any]],
        request_digest: str,
        correlation_id: str,
        chain_kid: str | None = None,
    ) -> None:
        self.portal_id = portal_id
        self.service_identifier = service_identifier
        self.leika_key = leika_key
        self.dossier = dossier
        self.data = data
        self.attachments = attachments
        self.request_digest = request_digest
        self.correlation_id = correlation_id
        self.chain_kid = chain_kid
        self.status = Status.RECEIVED
        self.chain_head = GENESIS
        self.updated_at_iso = ""
        self.problems: list[dict[str, Any]] = []
        self.authority_id: str | None = None
        self.delivery_id: str | None = None
        self.findings: str | None = None
        """The sealed routing keys validation found in the data (a blob name)."""
        self.delivery_topic: str | None = None
        self.envelope: dict[str, Any] = {}
        """The current delivery's sealed envelope: ``blob`` and ``sha256``."""
        self.content_erased = False
        self.reminders = 0
        self.escalated = False
        self.notice = 0
        self.callback_attempts = 0
        self.callback_done = False
        self.delivery_failed = False
        self.refused_receipts = 0
        self.region: str | None = None
        self.declined_by: list[str] = []
        self.declined_deliveries: dict[str, str] = {}
        self.assigned_to: list[str] = []
        self.operator_requests: set[str] = set()
        self.chain_key: bytes | None = None
        """The ledger's HMAC key for the events this submission records (never recorded).

        ``receive`` and the ledger that loads the submission set it."""

    @classmethod
    def receive(cls, submission_id: UUID, *, chain: ChainKeys, **fields: Any) -> Submission:
        """Create a submission from a portal's request (first event of the chain), hashed
        under ``chain``'s active key (whose id ``Received`` records)."""
        chain_kid, chain_key = chain.for_new()
        fields["chain_kid"] = chain_kid
        timestamp = cls.Received.create_timestamp()
        link = ChainLink(str(submission_id), 1, "Received", timestamp, GENESIS, fields)
        submission = cls._create(
            cls.Received,
            id=submission_id,
            timestamp=timestamp,
            prev_hash=GENESIS,
            hash=link.digest(chain_key),
            **fields,
        )
        submission.chain_key = chain_key
        return submission

    # -- validation ---------------------------------------------------------------

    class Validated(Event):
        """The data conforms to its schema and the service's rules.

        ``routing_keys`` names the keys found in the data (``postalCode``, ``ars`` …);
        their values are sealed in the vault under ``findings``.
        """

        catalog_version: str
        schema_uri: str
        routing_keys: list[str]
        findings: str | None

        def change(self, submission: Submission) -> None:
            submission.status = Status.VALIDATED
            submission.findings = self.findings

    def validate(
        self,
        catalog_version: str,
        schema_uri: str,
        routing_keys: list[str] | None = None,
        findings: str | None = None,
    ) -> bool:
        """Record that the data is valid, with the names of the routing keys found in it."""
        if not self._takes_effect("validate"):
            return False
        self._append(
            self.Validated,
            catalog_version=catalog_version,
            schema_uri=schema_uri,
            routing_keys=sorted(routing_keys or []),
            findings=findings,
        )
        return True

    class Rejected(Event):
        """The data does not conform; the problems say why."""

        catalog_version: str
        problems: list[dict[str, Any]]

        def change(self, submission: Submission) -> None:
            submission.status = Status.REJECTED
            submission.problems = self.problems

    def reject(self, catalog_version: str, problems: list[dict[str, Any]]) -> bool:
        """Record that the data is invalid."""
        if not self._takes_effect("reject"):
            return False
        self._append(self.Rejected, catalog_version=catalog_version, problems=problems)
        return True

    # -- routing ------------------------------------------------------------------

    class Routed(Event):
        """The responsible authority was found."""

        authority_id: str
        region: str
        area: str
        directory_version: str
        competence: str | None = None
        """The id of the competence that matched (``None`` in events stored without it)."""
        resolution: dict[str, Any] | None = None
        """How the region was found: ``source``, ``key``, ``value`` (and for a postal
        code its ``candidates``); ``None`` in events stored without it."""

        def change(self, submission: Submission) -> None:
            submission.status = Status.ROUTED
            submission.authority_id = self.authority_id
            submission.region = self.region

    def route(
        self,
        authority_id: str,
        region: str,
        area: str,
        directory_version: str,
        *,
        competence: str | None = None,
        resolution: dict[str, Any] | None = None,
    ) -> bool:
        """Record the responsible authority (and the competence that made it so)."""
        if not self._takes_effect("route"):
            return False
        self._append(  # every field, defaults too: the hash covers what the event holds
            self.Routed,
            authority_id=authority_id,
            region=region,
            area=area,
            directory_version=directory_version,
            competence=competence,
            resolution=resolution,
        )
        return True

    class Unroutable(Event):
        """No (or no single) responsible authority was found: the submission awaits triage."""

        reason: str
        detail: str
        directory_version: str
        resolution: dict[str, Any] | None = None
        """As in ``Routed``; ``None`` when no region was found, or in events stored without it."""

        def change(self, submission: Submission) -> None:
            submission.status = Status.UNROUTABLE
            submission.problems = [{"reason": self.reason, "detail": self.detail}]
            submission.authority_id = None

    def mark_unroutable(
        self,
        reason: str,
        detail: str,
        directory_version: str,
        resolution: dict[str, Any] | None = None,
    ) -> bool:
        """Record that no single authority is responsible (also after every one declined)."""
        if not self._takes_effect("mark_unroutable"):
            return False
        self._append(
            self.Unroutable,
            reason=reason,
            detail=detail,
            directory_version=directory_version,
            resolution=resolution,
        )
        return True

    # -- delivery and receipts ------------------------------------------------------

    class Dispatched(Event):
        """The delivery envelope was handed to the authority's channel.

        ``envelope`` references the envelope sealed in the vault (``blob`` and the
        ``sha256`` of its JSON as published); the relay publishes it from there.
        ``topic`` is the authority's Kafka topic, or its FIT-Connect pickup channel
        (``fit-connect:<authority id>``, ``contracts.topics.pickup_channel``): then the
        envelope is the pickup document its FIT-Connect client fetches, and nothing is
        published on a topic.
        """

        delivery_id: str
        authority_id: str
        topic: str
        envelope: dict[str, Any]

        def change(self, submission: Submission) -> None:
            submission.status = Status.DISPATCHED
            submission.delivery_id = self.delivery_id
            submission.delivery_topic = self.topic
            submission.envelope = self.envelope
            # A delivery after a forward starts its follow-up afresh (for the first
            # delivery of a trail these are the initial values anyway).
            submission.reminders = submission.notice = submission.callback_attempts = 0
            submission.escalated = submission.callback_done = submission.delivery_failed = False

    def dispatch(
        self, delivery_id: str, authority_id: str, topic: str, envelope: dict[str, Any]
    ) -> bool:
        """Record the delivery to the routed authority (the relay publishes it)."""
        if not self._takes_effect("dispatch"):
            return False
        self._check_addressee(authority_id)
        self._append(
            self.Dispatched,
            delivery_id=delivery_id,
            authority_id=authority_id,
            topic=topic,
            envelope=envelope,
        )
        return True

    class Withheld(Event):
        """Not dispatched: the authority has no encryption key, and nothing goes out in plaintext.

        Operations register the authority's key, then replay delivery (``changed``).
        """

        authority_id: str
        reason: str

        def change(self, submission: Submission) -> None:
            submission.status = Status.WITHHELD
            submission.problems = [{"reason": self.reason, "authorityId": self.authority_id}]

    def withhold(self, authority_id: str, reason: str) -> bool:
        """Record that the delivery to the routed authority is held back."""
        if not self._takes_effect("withhold"):
            return False
        self._check_addressee(authority_id)
        self._append(self.Withheld, authority_id=authority_id, reason=reason)
        return True

    class Accepted(Event):
        """The authority confirmed receipt and took the application on."""

        delivery_id: str
        reference: str | None
        signed_receipt: str | None = None
        """The receipt's JWS as received, when it was signed (proof of the acceptance)."""

        def change(self, submission: Submission) -> None:
            submission.status = Status.ACCEPTED

    def accept(
        self, delivery_id: str, reference: str | None, signed_receipt: str | None = None
    ) -> bool:
        """Record the authority's acceptance."""
        if not self._receipt_takes_effect("accept", delivery_id):
            return False
        self._append(
            self.Accepted,
            delivery_id=delivery_id,
            reference=reference,
            signed_receipt=signed_receipt,
        )
        return True

    class RefusedByAuthority(Event):
        """The authority rejected the delivery or declared itself not responsible."""

        delivery_id: str
        outcome: str
        problems: list[dict[str, Any]]
        signed_receipt: str | None = None

        def change(self, submission: Submission) -> None:
            submission.status = Status.REFUSED
            submission.problems = self.problems

    def refuse(
        self,
        delivery_id: str,
        outcome: str,
        problems: list[dict[str, Any]],
        signed_receipt: str | None = None,
    ) -> bool:
        """Record the authority's rejection or 'not responsible'."""
        if not self._receipt_takes_effect("refuse", delivery_id):
            return False
        self._append(
            self.RefusedByAuthority,
            delivery_id=delivery_id,
            outcome=outcome,
            problems=problems,
            signed_receipt=signed_receipt,
        )
        return True

    class ReceiptRefused(Event):
        """A receipt was not taken (wrong authority, missing or bad signature, other delivery)."""

        delivery_id: str
        authority_id: str
        reason: str

        def change(self, submission: Submission) -> None:
            submission.refused_receipts += 1

    def refuse_receipt(self, delivery_id: str, authority_id: str, reason: str) -> bool:
        """Record a receipt that was not taken (at most ``MAX_REFUSED_RECEIPTS`` times)."""
        if not self._takes_effect("refuse_receipt"):
            return False
        if self.refused_receipts >= MAX_REFUSED_RECEIPTS:
            return False
        self._append(
            self.ReceiptRefused, delivery_id=delivery_id, authority_id=authority_id, reason=reason
        )
        return True

    def _receipt_takes_effect(self, command: str, delivery_id: str) -> bool:
        """``_takes_effect`` for a receipt, which must answer the current delivery."""
        if self.delivery_id is not None and delivery_id != self.delivery_id:
            msg = f"receipt for delivery {delivery_id}, but the delivery is {self.delivery_id}"
            raise InvalidTransitionError(msg)
        return self._takes_effect(command)

    # -- follow-up: reminders, escalation, callbacks --------------------------------

    class Reminded(Event):
        """No receipt in time: the same delivery (same id, same envelope) is announced again."""

        delivery_id: str
        stage: int
        after_seconds: float
        topic: str
        envelope: dict[str, Any]

        def change(self, submission: Submission) -> None:
            submission.reminders = self.stage
            # A new notice: its callback starts afresh. The notice number counts operator
            # redeliveries too; where only reminders set it, it is the stage.
            submission.notice = max(submission.notice + 1, self.stage)
            submission.callback_attempts = 0
            submission.callback_done = False

    def remind(self, delivery_id: str, stage: int, after_seconds: float) -> bool:
        """Announce the delivery again (the relay republishes the envelope)."""
        if not self._takes_effect("remind") or self.content_erased:
            return False
        if delivery_id != self.delivery_id or self.escalated or stage <= self.reminders:
            return False
        assert self.delivery_topic is not None
        self._append(
            self.Reminded,
            delivery_id=delivery_id,
            stage=stage,
            after_seconds=after_seconds,
            topic=self.delivery_topic,
            envelope=self.envelope,
        )
        return True

    class Escalated(Event):
        """Still no receipt after the last deadline: operations must follow up."""

        delivery_id: str
        after_seconds: float

        def change(self, submission: Submission) -> None:
            submission.escalated = True

    def escalate(self, delivery_id: str, after_seconds: float) -> bool:
        """Hand the unanswered delivery to operations."""
        if not self._takes_effect("escalate"):
            return False
        if delivery_id != self.delivery_id or self.escalated:
            return False
        self._append(self.Escalated, delivery_id=delivery_id, after_seconds=after_seconds)
        return True

    class CallbackDelivered(Event):
        """The authority's callback endpoint took the notice (HTTP 2xx)."""

        delivery_id: str
        notice: int
        attempt: int
        status_code: int

        def change(self, submission: Submission) -> None:
            submission.callback_attempts = self.attempt
            submission.callback_done = True
            submission.delivery_failed = False

    class CallbackFailed(Event):
        """A callback attempt failed; the next one is due at ``retry_at`` (ISO 8601)."""

        delivery_id: str
        notice: int
        attempt: int
        reason: str
        retry_at: str

        def change(self, submission: Submission) -> None:
            submission.callback_attempts = self.attempt

    class DeliveryFailed(Event):
        """The callback channel gave up after its last attempt: a dead letter for operations.

        The envelope stays on the authority's topic; a receipt still counts.
        """

        delivery_id: str
        notice: int
        attempts: int
        reason: str

        def change(self, submission: Submission) -> None:
            submission.callback_attempts = self.attempts
            submission.callback_done = True
            submission.delivery_failed = True

    def record_callback(
        self,
        delivery_id: str,
        notice: int,
        attempt: int,
        *,
        status_code: int | None = None,
        failure: str | None = None,
        retry_at: str | None = None,
    ) -> bool:
        """Record one callback attempt for ``notice``: delivered, failed (retry), or given up.

        ``status_code`` without ``failure`` means delivered; ``failure`` with ``retry_at``
        means another attempt follows; ``failure`` without it is the dead letter.
        """
        if not self._takes_effect("record_callback"):
            return False
        done = self.callback_done or attempt <= self.callback_attempts
        if delivery_id != self.delivery_id or notice != self.notice or done:
            return False
        common = {"delivery_id": delivery_id, "notice": notice}
        if failure is None:
            assert status_code is not None
            self._append(self.CallbackDelivered, attempt=attempt, status_code=status_code, **common)
        elif retry_at is not None:
            self._append(
                self.CallbackFailed, attempt=attempt, reason=failure, retry_at=retry_at, **common
            )
        else:
            self._append(self.DeliveryFailed, attempts=attempt, reason=failure, **common)
        return True

    # -- rerouting: "not responsible", forwarding, triage, handover to another instance ----

    class Declined(Event):
        """The authority declared itself not responsible (receipt ``not-responsible``).

        Not an end: routing forwards the submission to the next competent authority, or
        into triage. A ``RefusedByAuthority`` with outcome ``not-responsible`` in a stored
        trail is a terminal refusal and stays one.
        """

        delivery_id: str
        authority_id: str
        problems: list[dict[str, Any]]
        signed_receipt: str | None = None

        def change(self, submission: Submission) -> None:
            submission.status = Status.DECLINED
            submission.problems = self.problems
            submission.declined_by.append(self.authority_id)
            submission.declined_deliveries[self.delivery_id] = self.authority_id

    def decline(
        self, delivery_id: str, problems: list[dict[str, Any]], signed_receipt: str | None = None
    ) -> bool:
        """Record the addressee's "not responsible" for the current delivery."""
        if delivery_id in self.declined_deliveries:
            return False
        if not self._receipt_takes_effect("decline", delivery_id):
            return False
        assert self.authority_id is not None
        self._append(
            self.Declined,
            delivery_id=delivery_id,
            authority_id=self.authority_id,
            problems=problems,
            signed_receipt=signed_receipt,
        )
        return True

    class Forwarded(Event):
        """Routed anew after a decline, without the authorities that declined."""

        authority_id: str
        region: str
        area: str
        directory_version: str
        competence: str
        excluded: list[str]
        declined_delivery_id: str
        resolution: dict[str, Any] | None = None

        def change(self, submission: Submission) -> None:
            submission.status = Status.ROUTED
            submission.authority_id = self.authority_id
            submission.region = self.region
            submission.problems = []

    def forward(
        self,
        authority_id: str,
        region: str,
        area: str,
        directory_version: str,
        *,
        competence: str,
        resolution: dict[str, Any] | None = None,
    ) -> bool:
        """Route anew after a decline; False if the decline was already acted on."""
        if self.declined_by and self.status is not Status.DECLINED:
            return False  # forwarded or sent to triage since the last decline
        if not self._takes_effect("forward"):
            return False
        if authority_id in self.declined_by:
            msg = f"{authority_id} declined submission {self.id} before"
            raise InvalidTransitionError(msg)
        self._append(
            self.Forwarded,
            authority_id=authority_id,
            region=region,
            area=area,
            directory_version=directory_version,
            competence=competence,
            excluded=sorted(set(self.declined_by)),
            declined_delivery_id=self.delivery_id or "",
            resolution=resolution,
        )
        return True

    class Assigned(Event):
        """An operator assigned an authority to an unroutable submission (triage)."""

        authority_id: str
        directory_version: str
        by: str
        reason: str

        def change(self, submission: Submission) -> None:
            submission.status = Status.ROUTED
            submission.authority_id = self.authority_id
            submission.problems = []
            submission.assigned_to.append(self.authority_id)

    def assign(self, authority_id: str, directory_version: str, by: str, reason: str) -> bool:
        """An operator's assignment of an unroutable submission (triage).

        False if this authority was the last one assigned and the submission has moved on
        (the same command again); any other state than unroutable is an error.
        """
        if self.status is not Status.UNROUTABLE and self.assigned_to[-1:] == [authority_id]:
            return False
        if not self._takes_effect("assign"):
            return False
        self._append(
            self.Assigned,
            authority_id=authority_id,
            directory_version=directory_version,
            by=by,
            reason=reason,
        )
        return True

    class HandedOver(Event):
        """Another Amtsweg instance took the submission on under ``remote_submission_id``.

        Its own trail continues there: its ``Received`` event carries our delivery id as
        idempotency key and our correlation id.
        """

        delivery_id: str
        authority_id: str
        url: str
        remote_submission_id: str

        def change(self, submission: Submission) -> None:
            submission.status = Status.HANDED_OVER
            submission.delivery_id = self.delivery_id

    def hand_over(
        self, delivery_id: str, authority_id: str, url: str, remote_submission_id: str
    ) -> bool:
        """Record that another Amtsweg instance took the submission on."""
        if not self._takes_effect("hand_over"):
            return False
        self._check_addressee(authority_id)
        self._append(
            self.HandedOver,
            delivery_id=delivery_id,
            authority_id=authority_id,
            url=url,
            remote_submission_id=remote_submission_id,
        )
        return True

    class HandoverRefused(Event):
        """The other Amtsweg instance refused the submission: it goes to triage."""

        delivery_id: str
        authority_id: str
        reason: str
        status_code: int | None

        def change(self, submission: Submission) -> None:
            submission.status = Status.UNROUTABLE
            submission.problems = [{"reason": "handover-refused", "detail": self.reason}]
            submission.authority_id = None

    def refuse_handover(
        self, delivery_id: str, authority_id: str, reason: str, status_code: int | None
    ) -> bool:
        """Record that the other instance refused the submission (into triage)."""
        if not self._takes_effect("refuse_handover"):
            return False
        self._check_addressee(authority_id)
        self._append(
            self.HandoverRefused,
            delivery_id=delivery_id,
            authority_id=authority_id,
            reason=reason,
            status_code=status_code,
        )
        return True

    def _check_addressee(self, authority_id: str) -> None:
        if authority_id != self.authority_id:
            msg = f"routed to {self.authority_id}, not to {authority_id}"
            raise InvalidTransitionError(msg)

    # -- operator actions: each names its actor and reason, and carries a request id ----
    # (the same request again changes nothing, so a retried command is harmless)

    class Replayed(Event):
        """An operator re-ran a stage (``validation``, ``routing`` or ``delivery``).

        ``against`` is ``recorded`` or ``current`` (catalog or directory), ``version`` the
        one used, ``decision`` a summary of what it decided (never a document value).
        ``outcome``: ``decided`` (the stage had not decided yet; its decision event
        follows), ``unchanged`` (checked: the same decision, nothing else recorded),
        ``changed`` (the stage's failure is decided anew: its new decision event follows)
        or ``differs`` (another decision, not applied: the submission is past that stage).
        """

        stage: str
        request_id: str
        actor: str
        reason: str
        against: str
        version: str
        outcome: str
        decision: str

        def change(self, submission: Submission) -> None:
            submission.operator_requests.add(self.request_id)
            if self.outcome == REPLAY_CHANGED:  # back to the stage's input; its decision follows
                submission.status = REPLAY_INPUT[self.stage]
                submission.problems = []

    def replay(
        self,
        stage: str,
        request_id: str,
        *,
        actor: str,
        reason: str,
        against: str,
        version: str,
        outcome: str,
        decision: str,
    ) -> bool:
        """Record a replay of ``stage``; False if this request was recorded already.

        ``decided`` needs the stage's input status, ``changed`` the stage's failure; the
        caller appends the new decision right after (one save: both or neither).
        """
        if request_id in self.operator_requests:
            return False
        if not self._takes_effect(replay_row(stage, outcome)):
            return False
        self._append(
            self.Replayed,
            stage=stage,
            request_id=request_id,
            actor=actor,
            reason=reason,
            against=against,
            version=version,
            outcome=outcome,
            decision=decision,
        )
        return True

    class Redelivered(Event):
        """An operator announced the delivery again: same delivery id and envelope, a new notice.

        The relay republishes the envelope (header ``amtsweg-notice``) and the callback, if
        any, starts afresh for this notice.
        """

        delivery_id: str
        notice: int
        topic: str
        envelope: dict[str, Any]
        request_id: str
        actor: str
        reason: str

        def change(self, submission: Submission) -> None:
            submission.operator_requests.add(self.request_id)
            submission.notice = self.notice
            submission.callback_attempts = 0
            submission.callback_done = False
            submission.delivery_failed = False

    def redeliver(self, request_id: str, *, actor: str, reason: str) -> bool:
        """Announce the open delivery again (a new notice); False if this request was done."""
        if request_id in self.operator_requests:
            return False
        if not self._takes_effect("redeliver"):
            return False
        if self.content_erased:
            raise ContentErasedError(str(self.id))
        assert self.delivery_id is not None
        assert self.delivery_topic is not None
        self._append(
            self.Redelivered,
            delivery_id=self.delivery_id,
            notice=self.notice + 1,
            topic=self.delivery_topic,
            envelope=self.envelope,
            request_id=request_id,
            actor=actor,
            reason=reason,
        )
        return True

    class CallbackRequeued(Event):
        """An operator asked for one more callback attempt after the channel gave up."""

        delivery_id: str
        notice: int
        request_id: str
        actor: str
        reason: str

        def change(self, submission: Submission) -> None:
            submission.operator_requests.add(self.request_id)
            submission.callback_done = False
            submission.delivery_failed = False

    def requeue_callback(self, request_id: str, *, actor: str, reason: str) -> bool:
        """One more callback attempt for a dead letter; False if this request was done."""
        if request_id in self.operator_requests:
            return False
        if not self._takes_effect("requeue_callback"):
            return False
        if not self.delivery_failed:
            msg = f"submission {self.id} has no failed callback to retry"
            raise InvalidTransitionError(msg)
        assert self.delivery_id is not None
        self._append(
            self.CallbackRequeued,
            delivery_id=self.delivery_id,
            notice=self.notice,
            request_id=request_id,
            actor=actor,
            reason=reason,
        )
        return True

    # -- data protection ------------------------------------------------------------

    class ContentErased(Event):
        """The submission's content was erased (crypto-shredding); the trail stays verifiable.

        ``by`` is the operator or ``retention:<rule>``; ``legal_basis`` the provision the
        erasure follows (e.g. "SGB X § 84 Abs. 2"); ``destroyed`` what went: the data key
        (``key_id``: which key-encryption key wrapped it) and how many sealed blobs.
        """

        by: str
        rule: str | None
        legal_basis: str
        reason: str
        destroyed: dict[str, Any]
        delivery_id: str | None
        """The delivery open at the time, if any: its follow-up (reminders, callbacks) ends."""

        def change(self, submission: Submission) -> None:
            submission.content_erased = True

    def erase(
        self,
        *,
        by: str,
        rule: str | None,
        legal_basis: str,
        reason: str,
        destroyed: dict[str, Any],
    ) -> bool:
        """Record the erasure of the content (once; False if it was recorded before)."""
        if self.content_erased or not self._takes_effect("erase"):
            return False
        self._append(
            self.ContentErased,
            by=by,
            rule=rule,
            legal_basis=legal_basis,
            reason=reason,
            destroyed=destroyed,
            delivery_id=self.delivery_id,
        )
        return True

    # -- the status rules and the chain ----------------------------------------------

    def _takes_effect(self, command: str) -> bool:
        """True if ``command`` takes effect in the current status, False if it is a no-op.

        ``InvalidTransitionError`` where it does not fit (``events.lifecycle.TRANSITIONS``).
        """
        return takes_effect(command, self.status, f"submission {self.id}")

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
            hash=link.digest(self.chain_key),
            **fields,
        )

    def __repr__(self) -> str:
        """The state as eventsourcing shows it, without the chain key (a secret)."""
        attributes = ", ".join(
            f"{name.lstrip('_')}={value!r}"
            for name, value in self.__dict__.items()
            if name not in {"_pending_events", "chain_key"}
        )
        return f"{type(self).__name__}({attributes})"
