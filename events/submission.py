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

from contracts.cases import case_id_of
from events.case import Reply, ReplyConflictError, ReplyKind, RequestState, Supplement
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
        case_id: str | None = None
        """The case the submission belongs to (FIT-Connect's ``caseId``); None in events
        stored without it: then the case is ``contracts.cases.case_id_of`` its id."""

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
        case_id: str | None = None,
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
        self.recorded_case_id = case_id
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
        self.replies: dict[str, Reply] = {}
        """The authority's replies to the applicant, by reply id, in the order received."""
        self.supplements: dict[str, Supplement] = {}
        """Documents handed in later, by supplement id, in the order received."""

    @property
    def case_id(self) -> str:
        """The case this submission belongs to."""
        return self.recorded_case_id or case_id_of(str(self.id))

    @classmethod
    def receive(cls, submission_id: UUID, *, chain: ChainKeys, **fields: Any) -> Submission:
        """Create a submission from a portal's request (first event of the chain), hashed
        under ``chain``'s active key (whose id ``Received`` records), in the case
        ``case_id`` names (None: it opens a case of its own)."""
        chain_kid, chain_key = chain.for_new()
        fields["chain_kid"] = chain_kid
        if fields.get("case_id") is None:  # it opens a case of its own
            fields["case_id"] = case_id_of(str(submission_id))
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

    # -- the case: replies to the applicant, documents handed in later --------------------

    class Replied(Event):
        """The authority replied to the applicant: a status message, a request for documents
        (what is missing, by ``due``) or a decision with documents.

        ``dossier`` names the sealed document of what the authority wrote (subject, text,
        what it requests, the parts' file names); ``parts`` the sealed documents with the
        SHA-512 and size of their plaintext. ``request_digest`` is the SHA-256 of the reply
        as sent, ``signed_by`` the ``kid`` of the authority key that signed it (None:
        unsigned). ``topic`` is the portal's own topic (``amtsweg.portal.<portal-id>``), or
        None when the portal takes replies by callback and pull only; ``envelope`` the
        sealed reply envelope for the portal, which the relay publishes there.
        """

        reply_id: str
        kind: str
        authority_id: str
        delivery_id: str
        dossier: str
        parts: list[dict[str, Any]]
        request_digest: str
        due: str | None
        signed_by: str | None
        topic: str | None
        envelope: dict[str, Any]

        def change(self, submission: Submission) -> None:
            kind = ReplyKind(self.kind)
            submission.replies[self.reply_id] = Reply(
                reply_id=self.reply_id,
                kind=kind,
                request_digest=self.request_digest,
                delivery_id=self.delivery_id,
                due=self.due,
                state=RequestState.OPEN if kind is ReplyKind.REQUEST else None,
            )

    def reply(
        self,
        reply_id: str,
        *,
        kind: ReplyKind,
        authority_id: str,
        delivery_id: str,
        dossier: str,
        parts: list[dict[str, Any]],
        request_digest: str,
        due: str | None = None,
        signed_by: str | None = None,
        topic: str | None = None,
        envelope: dict[str, Any] | None = None,
    ) -> bool:
        """Record the authority's reply; False if this reply was recorded already.

        Only the authority the submission was delivered to may reply, to one of its own
        deliveries (the submission's or a follow-up one). ``ReplyConflictError`` if the
        reply id was used for another reply; a request needs its deadline.
        """
        known = self.replies.get(reply_id)
        if known is not None:
            if known.request_digest != request_digest:
                msg = f"reply {reply_id} was recorded with other content"
                raise ReplyConflictError(msg)
            return False
        if not self._takes_effect("reply"):
            return False
        self._check_erased()
        self._check_addressee(authority_id)
        if delivery_id not in self.deliveries_of_case():
            msg = f"delivery {delivery_id} is not one of submission {self.id}"
            raise InvalidTransitionError(msg)
        if (kind is ReplyKind.REQUEST) != (due is not None):
            msg = "a request for documents needs a deadline, other replies have none"
            raise InvalidTransitionError(msg)
        self._append(
            self.Replied,
            reply_id=reply_id,
            kind=str(kind),
            authority_id=authority_id,
            delivery_id=delivery_id,
            dossier=dossier,
            parts=parts,
            request_digest=request_digest,
            due=due,
            signed_by=signed_by,
            topic=topic,
            envelope=envelope or {},
        )
        return True

    def deliveries_of_case(self) -> list[str]:
        """The current delivery and the follow-up deliveries of the case, oldest first."""
        current = [self.delivery_id] if self.delivery_id else []
        return current + [s.delivery_id for s in self.supplements.values() if s.delivery_id]

    class RequestOverdue(Event):
        """A request's deadline passed without an answer; both sides are told.

        ``portal_topic`` and ``authority_topic`` are where the relay publishes the notice
        (None: that side has no topic; the portal also sees it in its replies).
        """

        reply_id: str
        due: str
        case_id: str
        portal_topic: str | None
        authority_topic: str | None

        def change(self, submission: Submission) -> None:
            submission.replies[self.reply_id].state = RequestState.OVERDUE

    def mark_overdue(
        self, reply_id: str, *, portal_topic: str | None, authority_topic: str | None
    ) -> bool:
        """Record that an open request's deadline passed; False unless it is still open."""
        if not self._takes_effect("mark_overdue"):
            return False
        request = self.replies.get(reply_id)
        if request is None or request.kind is not ReplyKind.REQUEST:
            msg = f"submission {self.id} has no request {reply_id}"
            raise InvalidTransitionError(msg)
        if request.state is not RequestState.OPEN:
            return False
        assert request.due is not None
        self._append(
            self.RequestOverdue,
            reply_id=reply_id,
            due=request.due,
            case_id=self.case_id,
            portal_topic=portal_topic,
            authority_topic=authority_topic,
        )
        return True

    def open_requests(self) -> list[Reply]:
        """The requests for documents not yet answered (overdue ones included)."""
        return [
            reply
            for reply in self.replies.values()
            if reply.state in (RequestState.OPEN, RequestState.OVERDUE)
        ]

    class SupplementReceived(Event):
        """The portal handed in documents later (Nachreichung), answering a request or not.

        ``dossier`` names the sealed document of what the portal said (each part's id,
        media type and file name, a note); ``parts`` the sealed documents with SHA-512
        and size of their plaintext, in the dossier's order.
        """

        supplement_id: str
        answers: str | None
        dossier: str
        parts: list[dict[str, Any]]
        request_digest: str

        def change(self, submission: Submission) -> None:
            submission.supplements[self.supplement_id] = Supplement(
                supplement_id=self.supplement_id,
                request_digest=self.request_digest,
                answers=self.answers,
                parts=self.parts,
            )
            if self.answers is not None:
                request = submission.replies[self.answers]
                request.state = RequestState.ANSWERED
                request.answered_by = self.supplement_id

    def hand_in(
        self,
        supplement_id: str,
        *,
        answers: str | None,
        dossier: str,
        parts: list[dict[str, Any]],
        request_digest: str,
    ) -> bool:
        """Record documents handed in later; False if this supplement was recorded already.

        Only a case an authority holds takes them (``InvalidTransitionError`` for a rejected
        or unroutable one, ``ContentErasedError`` once erased); ``answers`` must name one
        of its requests for documents that is not answered yet.
        """
        known = self.supplements.get(supplement_id)
        if known is not None:
            if known.request_digest != request_digest:
                msg = f"supplement {supplement_id} was recorded with other content"
                raise ReplyConflictError(msg)
            return False
        if not self._takes_effect("hand_in"):
            return False
        self._check_erased()
        if answers is not None:
            request = self.replies.get(answers)
            if request is None or request.kind is not ReplyKind.REQUEST:
                msg = f"submission {self.id} has no request {answers}"
                raise InvalidTransitionError(msg)
            if request.state is RequestState.ANSWERED:
                msg = f"request {answers} was answered by supplement {request.answered_by}"
                raise InvalidTransitionError(msg)
        self._append(
            self.SupplementReceived,
            supplement_id=supplement_id,
            answers=answers,
            dossier=dossier,
            parts=parts,
            request_digest=request_digest,
        )
        return True

    class SupplementDispatched(Event):
        """A supplement went to the authority that holds the case: a follow-up delivery.

        ``delivery_id`` is the follow-up delivery's own id (its receipt names it),
        ``refers_to`` the delivery it follows up; ``topic`` and ``envelope`` as in
        ``Dispatched``.
        """

        supplement_id: str
        delivery_id: str
        refers_to: str
        authority_id: str
        topic: str
        envelope: dict[str, Any]

        def change(self, submission: Submission) -> None:
            submission.supplements[self.supplement_id].delivery_id = self.delivery_id

    def dispatch_supplement(
        self, supplement_id: str, delivery_id: str, topic: str, envelope: dict[str, Any]
    ) -> bool:
        """Record the follow-up delivery of a supplement; False if it was dispatched already."""
        if not self._takes_effect("dispatch_supplement"):
            return False
        supplement = self.supplements.get(supplement_id)
        if supplement is None:
            msg = f"submission {self.id} has no supplement {supplement_id}"
            raise InvalidTransitionError(msg)
        if supplement.delivery_id is not None:
            return False
        self._check_erased()
        assert self.delivery_id is not None
        assert self.authority_id is not None
        self._append(
            self.SupplementDispatched,
            supplement_id=supplement_id,
            delivery_id=delivery_id,
            refers_to=self.delivery_id,
            authority_id=self.authority_id,
            topic=topic,
            envelope=envelope,
        )
        return True

    class SupplementAcknowledged(Event):
        """The authority answered a follow-up delivery (``accepted`` or ``rejected``)."""

        supplement_id: str
        delivery_id: str
        outcome: str
        problems: list[dict[str, Any]]
        signed_receipt: str | None

        def change(self, submission: Submission) -> None:
            submission.supplements[self.supplement_id].outcome = self.outcome

    def acknowledge_supplement(
        self,
        delivery_id: str,
        outcome: str,
        problems: list[dict[str, Any]],
        signed_receipt: str | None = None,
    ) -> bool:
        """Record the receipt of a follow-up delivery; False if it was recorded already."""
        if not self._takes_effect("acknowledge_supplement"):
            return False
        supplement = self.supplement_of_delivery(delivery_id)
        if supplement is None:
            msg = f"delivery {delivery_id} is no follow-up delivery of submission {self.id}"
            raise InvalidTransitionError(msg)
        if supplement.outcome is not None:
            return False
        self._append(
            self.SupplementAcknowledged,
            supplement_id=supplement.supplement_id,
            delivery_id=delivery_id,
            outcome=outcome,
            problems=problems,
            signed_receipt=signed_receipt,
        )
        return True

    def supplement_of_delivery(self, delivery_id: str) -> Supplement | None:
        """The supplement a follow-up delivery carried, or None."""
        return next((s for s in self.supplements.values() if s.delivery_id == delivery_id), None)

    class PortalNotified(Event):
        """A callback told the portal of a reply or an overdue request (``notice``)."""

        notice: str
        """What the callback announced: ``reply:<reply id>`` or ``overdue:<reply id>``."""
        attempt: int
        status_code: int

    class PortalNotificationFailed(Event):
        """A callback to the portal failed; ``retry_at`` the next attempt, None: it gave up
        (a dead letter for operations: the portal still finds the reply by pulling)."""

        notice: str
        attempt: int
        reason: str
        retry_at: str | None

    def record_portal_callback(
        self,
        notice: str,
        attempt: int,
        *,
        status_code: int | None = None,
        failure: str | None = None,
        retry_at: str | None = None,
    ) -> bool:
        """Record one callback attempt to the portal (``status_code``: delivered)."""
        if not self._takes_effect("record_portal_callback"):
            return False
        if failure is None:
            assert status_code is not None
            self._append(
                self.PortalNotified, notice=notice, attempt=attempt, status_code=status_code
            )
        else:
            self._append(
                self.PortalNotificationFailed,
                notice=notice,
                attempt=attempt,
                reason=failure,
                retry_at=retry_at,
            )
        return True

    def _check_erased(self) -> None:
        if self.content_erased:
            raise ContentErasedError(str(self.id))

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
