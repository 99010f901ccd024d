"""The AsyncAPI channel table agrees with what the relay really publishes."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from contracts import topics
from events.outbox import messages_for
from events.submission import Submission
from services.ops.asyncapi.channels import DELIVERY_CHANNEL, channel_doc
from tests.support.authority import amtsweg_signer
from tests.support.factories import new_submission

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
