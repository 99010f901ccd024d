"""The AsyncAPI channel table agrees with what the relay really publishes."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from contracts import replies, topics
from events.case import ReplyKind
from events.outbox import messages_for
from events.submission import Submission
from services.ops.asyncapi.channels import (
    DELIVERY_CHANNEL,
    PORTAL_CHANNEL,
    ChannelDoc,
    channel_doc,
)
from tests.support.authority import amtsweg_signer
from tests.support.factories import dispatched_submission, new_submission

SEALED_ENVELOPE = b'{"schemaVersion":2,"deliveryId":"d-1"}'


def _open_envelope(_submission_id: UUID, _reference: dict[str, Any]) -> bytes:
    return SEALED_ENVELOPE


def test_documented_headers_are_those_the_relay_writes() -> None:
    submission = new_submission()
    submission.validate("cat-1", "urn:x")
    submission.route("jc-koeln", "053150000000", "05315", "dir-1")
    reference = {"blob": f"{submission.id}/e", "sha256": "0" * 64}
    submission.dispatch("d-1", "jc-koeln", topics.delivery_topic("jc-koeln"), reference)
    withheld = new_submission()
    withheld.validate("cat-1", "urn:x")
    withheld.route("jc-koeln", "053150000000", "05315", "dir-1")
    withheld.withhold("jc-koeln", "no-encryption-key")
    withheld.erase(by="erika", rule=None, legal_basis="x", reason="y", destroyed={})
    published = set()
    for event in [*submission.collect_events(), *withheld.collect_events()]:
        assert isinstance(event, Submission.Event)
        for outbound in messages_for(event, _open_envelope, amtsweg_signer().sign):
            delivery = outbound.topic.startswith(topics.DELIVERY_PREFIX)
            published.add(delivery)
            doc = channel_doc(DELIVERY_CHANNEL if delivery else outbound.topic)
            assert {name for name, _ in outbound.headers} == set(doc.headers), outbound.topic
            assert set(doc.required_headers) == set(doc.headers)
    assert published == {True, False}  # the delivery channel's headers were checked too


def _documented(topic: str, kind: bytes | None) -> ChannelDoc:
    """The documented message of ``topic`` that the ``amtsweg-message`` header names."""
    doc = channel_doc(PORTAL_CHANNEL if topic.startswith(topics.PORTAL_PREFIX) else topic)
    by_kind = {
        replies.REPLY.encode(): "ReplyEnvelope",
        replies.REQUEST_OVERDUE.encode(): "RequestOverdueNotice",
        replies.SUPPLEMENT.encode(): "SupplementEnvelope",
    }
    name = by_kind.get(kind or b"", doc.message)
    return next(message for message in doc.messages if message.message == name)


def test_the_portal_channel_documents_the_replies_and_notices_the_relay_writes() -> None:
    submission = dispatched_submission("jobcenter-koeln", "d-1")
    portal = topics.portal_topic("portal-a")
    reference = {"blob": f"{submission.id}/e", "sha256": "0" * 64}
    submission.reply(
        "q-1",
        kind=ReplyKind.REQUEST,
        authority_id="jobcenter-koeln",
        delivery_id="d-1",
        dossier=f"{submission.id}/dossier",
        parts=[],
        request_digest="a" * 64,
        due="2027-01-01T00:00:00+00:00",
        topic=portal,
        envelope=reference,
    )
    submission.mark_overdue("q-1", portal_topic=portal, authority_topic=None)
    seen = set()
    for event in submission.collect_events():
        assert isinstance(event, Submission.Event)
        for outbound in messages_for(event, _open_envelope, amtsweg_signer().sign):
            if outbound.topic != portal:
                continue
            headers = dict(outbound.headers)
            doc = _documented(outbound.topic, headers.get(replies.MESSAGE_HEADER))
            assert set(headers) == set(doc.headers) == set(doc.required_headers), doc.message
            seen.add(doc.message)
    assert seen == {"ReplyEnvelope", "RequestOverdueNotice"}


def test_a_reply_on_the_receipts_topic_is_documented_beside_the_receipt() -> None:
    doc = channel_doc(topics.RECEIPTS)
    assert [m.message for m in doc.messages] == ["Receipt", "ReplyMessage"]
    reply = doc.messages[1]
    assert replies.MESSAGE_HEADER in reply.headers
    assert "1 MiB" in reply.description  # large decisions go over HTTP


def test_the_delivery_channel_documents_follow_ups_and_notices_the_relay_writes() -> None:
    submission = dispatched_submission("jobcenter-koeln", "d-1")
    delivery = topics.delivery_topic("jobcenter-koeln")
    reference = {"blob": f"{submission.id}/e", "sha256": "0" * 64}
    submission.reply(
        "q-1",
        kind=ReplyKind.REQUEST,
        authority_id="jobcenter-koeln",
        delivery_id="d-1",
        dossier=f"{submission.id}/dossier",
        parts=[],
        request_digest="a" * 64,
        due="2027-01-01T00:00:00+00:00",
    )
    submission.mark_overdue("q-1", portal_topic=None, authority_topic=delivery)
    submission.hand_in("s-1", answers="q-1", dossier="b", parts=[], request_digest="b" * 64)
    submission.dispatch_supplement("s-1", "d-2", delivery, reference)
    seen = set()
    for event in submission.collect_events():
        assert isinstance(event, Submission.Event)
        for outbound in messages_for(event, _open_envelope, amtsweg_signer().sign):
            if outbound.topic != delivery:
                continue
            headers = dict(outbound.headers)
            doc = _documented(DELIVERY_CHANNEL, headers.get(replies.MESSAGE_HEADER))
            assert set(headers) == set(doc.headers) == set(doc.required_headers), doc.message
            seen.add(doc.message)
    assert seen == {"DeliveryEnvelope", "SupplementEnvelope", "RequestOverdueNotice"}
