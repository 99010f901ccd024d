"""Each Submission event's name fixes where it is stored and where the relay publishes it.

The class name is the stored topic (``events.submission:Submission.<Name>``, which old
events are read back by), part of every event's hash, and the Kafka topic
``amtsweg.submissions.<name>``. Renaming or moving a class must fail here first.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from events.case import ReplyKind
from events.outbox import messages_for
from events.submission import Submission
from tests.support.factories import dispatched_submission, new_submission, routed_submission

AUTHORITY = "jc-koeln"
DELIVERY_TOPIC = "amtsweg.delivery.jc-koeln"
PORTAL_TOPIC = "amtsweg.portal.portal-1"

EXPECTED: dict[str, tuple[str, tuple[str, ...]]] = {
    "Received": (
        "events.submission:Submission.Received",
        ("amtsweg.submissions.received",),
    ),
    "Validated": (
        "events.submission:Submission.Validated",
        ("amtsweg.submissions.validated",),
    ),
    "Rejected": (
        "events.submission:Submission.Rejected",
        ("amtsweg.submissions.rejected",),
    ),
    "Routed": (
        "events.submission:Submission.Routed",
        ("amtsweg.submissions.routed",),
    ),
    "Unroutable": (
        "events.submission:Submission.Unroutable",
        ("amtsweg.submissions.unroutable",),
    ),
    "Dispatched": (
        "events.submission:Submission.Dispatched",
        ("amtsweg.submissions.dispatched", DELIVERY_TOPIC),
    ),
    "Withheld": (
        "events.submission:Submission.Withheld",
        ("amtsweg.submissions.withheld",),
    ),
    "Accepted": (
        "events.submission:Submission.Accepted",
        ("amtsweg.submissions.accepted",),
    ),
    "RefusedByAuthority": (
        "events.submission:Submission.RefusedByAuthority",
        ("amtsweg.submissions.refusedbyauthority",),
    ),
    "ReceiptRefused": (
        "events.submission:Submission.ReceiptRefused",
        ("amtsweg.submissions.receiptrefused",),
    ),
    "Reminded": (
        "events.submission:Submission.Reminded",
        ("amtsweg.submissions.reminded", DELIVERY_TOPIC),
    ),
    "Escalated": (
        "events.submission:Submission.Escalated",
        ("amtsweg.submissions.escalated",),
    ),
    "CallbackDelivered": (
        "events.submission:Submission.CallbackDelivered",
        ("amtsweg.submissions.callbackdelivered",),
    ),
    "CallbackFailed": (
        "events.submission:Submission.CallbackFailed",
        ("amtsweg.submissions.callbackfailed",),
    ),
    "DeliveryFailed": (
        "events.submission:Submission.DeliveryFailed",
        ("amtsweg.submissions.deliveryfailed",),
    ),
    "Declined": (
        "events.submission:Submission.Declined",
        ("amtsweg.submissions.declined",),
    ),
    "Forwarded": (
        "events.submission:Submission.Forwarded",
        ("amtsweg.submissions.forwarded",),
    ),
    "Assigned": (
        "events.submission:Submission.Assigned",
        ("amtsweg.submissions.assigned",),
    ),
    "HandedOver": (
        "events.submission:Submission.HandedOver",
        ("amtsweg.submissions.handedover",),
    ),
    "HandoverRefused": (
        "events.submission:Submission.HandoverRefused",
        ("amtsweg.submissions.handoverrefused",),
    ),
    "Replayed": (
        "events.submission:Submission.Replayed",
        ("amtsweg.submissions.replayed",),
    ),
    "Redelivered": (
        "events.submission:Submission.Redelivered",
        ("amtsweg.submissions.redelivered", DELIVERY_TOPIC),
    ),
    "CallbackRequeued": (
        "events.submission:Submission.CallbackRequeued",
        ("amtsweg.submissions.callbackrequeued",),
    ),
    "ContentErased": (
        "events.submission:Submission.ContentErased",
        ("amtsweg.submissions.contenterased",),
    ),
    "Replied": (
        "events.submission:Submission.Replied",
        ("amtsweg.submissions.replied", PORTAL_TOPIC),
    ),
    "RequestOverdue": (
        "events.submission:Submission.RequestOverdue",
        ("amtsweg.submissions.requestoverdue", PORTAL_TOPIC, DELIVERY_TOPIC),
    ),
    "SupplementReceived": (
        "events.submission:Submission.SupplementReceived",
        ("amtsweg.submissions.supplementreceived",),
    ),
    "SupplementDispatched": (
        "events.submission:Submission.SupplementDispatched",
        ("amtsweg.submissions.supplementdispatched", DELIVERY_TOPIC),
    ),
    "SupplementAcknowledged": (
        "events.submission:Submission.SupplementAcknowledged",
        ("amtsweg.submissions.supplementacknowledged",),
    ),
    "PortalNotified": (
        "events.submission:Submission.PortalNotified",
        ("amtsweg.submissions.portalnotified",),
    ),
    "PortalNotificationFailed": (
        "events.submission:Submission.PortalNotificationFailed",
        ("amtsweg.submissions.portalnotificationfailed",),
    ),
}
"""Event name: (stored topic, Kafka topics of its messages in order)."""

OPERATOR = {"actor": "erika", "reason": "checked"}
ERASURE: dict[str, Any] = {
    "by": "erika",
    "rule": None,
    "legal_basis": "SGB X § 84 Abs. 2",
    "reason": "request of the applicant",
    "destroyed": {"key_id": "local-1", "blobs": 3},
}


def _open_envelope(_submission_id: UUID, reference: dict[str, Any]) -> bytes:
    """The relay's envelope opener: every sealed envelope is still in the vault."""
    return json.dumps(reference).encode()


def _routed() -> Submission:
    return routed_submission(AUTHORITY)


def _dispatched() -> Submission:
    return dispatched_submission(AUTHORITY, "d-1")


def _every_event() -> list[Submission.Event]:
    """Trails that, together, record each kind of event at least once."""
    followed_up = _dispatched()
    followed_up.remind("d-1", 1, 60.0)
    followed_up.record_callback("d-1", 1, 1, failure="HTTP 503", retry_at="2030-01-01T00:00Z")
    followed_up.record_callback("d-1", 1, 2, failure="HTTP 503")
    followed_up.requeue_callback("q-1", **OPERATOR)
    followed_up.record_callback("d-1", 1, 3, status_code=200)
    followed_up.redeliver("q-2", **OPERATOR)
    followed_up.escalate("d-1", 600.0)
    followed_up.refuse_receipt("d-1", "other", "wrong-authority")
    followed_up.replay(
        "routing",
        "q-3",
        against="current",
        version="dir-2",
        outcome="unchanged",
        decision=AUTHORITY,
        **OPERATOR,
    )
    followed_up.decline("d-1", [])
    followed_up.forward("rd-nrw", "053150000000", "05", "dir-1", competence="rd-nrw/x/05")

    rejected = new_submission()
    rejected.reject("cat-1", [{"type": "schema-violation"}])

    triaged = new_submission()
    triaged.validate("cat-1", "urn:x")
    triaged.mark_unroutable("no-competence", "nobody", "dir-1")
    triaged.assign(AUTHORITY, "dir-1", "erika", "checked")
    triaged.hand_over("d-1", AUTHORITY, "https://st.example", "r-1")

    handover_refused = _routed()
    handover_refused.refuse_handover("d-1", AUTHORITY, "HTTP 422", 422)

    accepted = _dispatched()
    accepted.accept("d-1", "AZ-1")

    refused = _dispatched()
    refused.refuse("d-1", "rejected", [])
    refused.erase(**ERASURE)

    withheld = _routed()
    withheld.withhold(AUTHORITY, "no-encryption-key")

    case = _case()
    trails = (followed_up, rejected, triaged, handover_refused, accepted, refused, withheld, case)
    events = [event for trail in trails for event in trail.collect_events()]
    assert all(isinstance(event, Submission.Event) for event in events)
    return events  # type: ignore[return-value]


def _case() -> Submission:
    """A case: a request for documents, its deadline passed, a supplement, a decision."""
    case = _dispatched()
    common: dict[str, Any] = {"authority_id": AUTHORITY, "delivery_id": "d-1", "parts": []}
    reference = {"blob": "r", "sha256": "0" * 64}
    case.reply(
        "r-1",
        kind=ReplyKind.REQUEST,
        dossier="b-1",
        request_digest="x",
        due="2030-01-01T00:00:00+00:00",
        topic=PORTAL_TOPIC,
        envelope=reference,
        **common,
    )
    case.mark_overdue("r-1", portal_topic=PORTAL_TOPIC, authority_topic=DELIVERY_TOPIC)
    case.hand_in("s-1", answers="r-1", dossier="b-2", parts=[], request_digest="y")
    case.dispatch_supplement("s-1", "d-2", DELIVERY_TOPIC, reference)
    case.acknowledge_supplement("d-2", "accepted", [])
    case.record_portal_callback("overdue:r-1", 1, failure="HTTP 503", retry_at=None)
    case.record_portal_callback("overdue:r-1", 2, status_code=204)
    case.reply(
        "r-2",
        kind=ReplyKind.DECISION,
        dossier="b-3",
        request_digest="z",
        topic=PORTAL_TOPIC,
        envelope=reference,
        **common,
    )
    return case


def test_every_event_class_is_pinned() -> None:
    classes = {
        name
        for name, value in vars(Submission).items()
        if isinstance(value, type) and issubclass(value, Submission.Event)
    }
    # eventsourcing defines ``Created`` on every aggregate; a Submission starts with Received
    assert classes - {"Event", "Created"} == set(EXPECTED)


def test_each_event_is_stored_and_published_under_its_topics() -> None:
    seen: dict[str, set[tuple[str, tuple[str, ...]]]] = {}
    for event in _every_event():
        topics = tuple(message.topic for message in messages_for(event, _open_envelope))
        seen.setdefault(type(event).__name__, set()).add((get_topic(type(event)), topics))
    assert seen == {name: {topics} for name, topics in EXPECTED.items()}
