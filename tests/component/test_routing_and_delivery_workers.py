"""Routing and delivery workers on TestKafkaBroker with a SQLite ledger."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from uuid import UUID

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from contracts import topics
from contracts.messages import SubmissionEventMessage
from events.blobs import BlobStore, FileBlobStore
from events.ledger import Ledger
from events.lifecycle import Status
from events.submission import Submission
from services.delivery import handler as delivery
from services.delivery.recipients import Recipient, Recipients
from services.delivery.settings import DeliverySettings
from services.routing import handler as routing
from services.routing.settings import RoutingSettings
from services.runtime.settings import StageSettings
from tests.support.factories import new_submission

KOELN = "053150000000"


def _event(submission: Submission, name: str) -> bytes:
    message = SubmissionEventMessage(
        submission_id=str(submission.id),
        event=name,
        version=submission.version,
        timestamp=submission.created_on.isoformat(),
        hash=submission.chain_head,
        data={},
    )
    return message.model_dump_json(by_alias=True).encode()


def _validated(
    ledger: Ledger,
    blobs: BlobStore,
    hint: dict[str, str] | None,
    data_keys: dict[str, str] | None = None,
) -> Submission:
    ref = blobs.put(b"<x/>")
    submission = new_submission(
        routing_hint=hint,
        data={
            "sha512": ref.sha512,
            "size": ref.size,
            "mime_type": "application/xml",
            "schema_uri": "u",
        },
    )
    submission.validate("cat-1", "u", data_keys)
    ledger.save(submission)
    return submission


async def _publish(broker: KafkaBroker, *messages: tuple[bytes, str]) -> None:
    async with TestKafkaBroker(broker) as test_broker:
        for body, topic in messages:
            await test_broker.publish(body, topic)


@pytest.mark.parametrize(
    ("hint", "status", "authority"),
    [
        ({"ars": KOELN}, Status.ROUTED, "jobcenter-koeln"),
        ({"ags": "05315000"}, Status.ROUTED, "jobcenter-koeln"),
        ({"ars": "032410001001"}, Status.ROUTED, "jobcenter-region-hannover"),
        ({"ars": "091620000000"}, Status.ROUTED, "jobcenter-muenchen"),
        ({"postal_code": "30880"}, Status.ROUTED, "jobcenter-region-hannover"),  # Laatzen
        ({"ars": "039019999999"}, Status.UNROUTABLE, None),  # coastal waters: nobody there
        ({"ars": "999999999999"}, Status.UNROUTABLE, None),  # not a real key
        (None, Status.UNROUTABLE, None),
    ],
)
async def test_routing_decides_once(
    ledger: Ledger,
    tmp_path: Path,
    hint: dict[str, str] | None,
    status: Status,
    authority: str | None,
) -> None:
    blobs = FileBlobStore(tmp_path / "blobs")
    submission = _validated(ledger, blobs, hint)
    broker = KafkaBroker()
    routing.register(
        broker, ledger, routing.load(RoutingSettings()), stage_settings=StageSettings()
    )
    body = _event(submission, "Validated")
    await _publish(broker, (body, topics.VALIDATED), (body, topics.VALIDATED))
    routed = ledger.get_submission(submission.id)
    assert routed.status is status
    assert routed.authority_id == authority
    assert routed.version == 3  # the redelivery changed nothing
    if status is Status.UNROUTABLE:
        assert routed.problems[0]["reason"]


@pytest.mark.parametrize(
    ("hint", "data_keys", "authority"),
    [
        (None, {"ags": "05315000", "postalCode": "50667"}, "jobcenter-koeln"),
        ({"ars": "032410001001"}, {"ars": KOELN}, "jobcenter-region-hannover"),  # hint wins
    ],
)
async def test_routing_uses_the_data_when_the_portal_gave_no_hint(
    ledger: Ledger,
    tmp_path: Path,
    hint: dict[str, str] | None,
    data_keys: dict[str, str],
    authority: str,
) -> None:
    submission = _validated(ledger, FileBlobStore(tmp_path / "blobs"), hint, data_keys)
    broker = KafkaBroker()
    routing.register(
        broker, ledger, routing.load(RoutingSettings()), stage_settings=StageSettings()
    )
    await _publish(broker, (_event(submission, "Validated"), topics.VALIDATED))
    assert ledger.get_submission(submission.id).authority_id == authority


async def test_delivery_dispatches_once_and_records_receipts(
    ledger: Ledger, tmp_path: Path
) -> None:
    blobs = FileBlobStore(tmp_path / "blobs")
    submission = _validated(ledger, blobs, {"ars": KOELN})
    ledger.execute(submission.id, lambda s: s.route("jobcenter-koeln", KOELN, KOELN, "dir-1"))
    routed = ledger.get_submission(submission.id)
    broker = KafkaBroker()
    # as in development: Köln has no keys, its unsigned receipts count
    known = Recipients([Recipient("jobcenter-koeln")], accept_unsigned_receipts=True)
    delivery.register(
        broker, ledger, blobs, DeliverySettings(), known, stage_settings=StageSettings()
    )
    await _publish(
        broker, (_event(routed, "Routed"), topics.ROUTED), (_event(routed, "Routed"), topics.ROUTED)
    )

    dispatched = ledger.get_submission(submission.id)
    assert dispatched.status is Status.DISPATCHED
    assert dispatched.version == 4
    envelope = ledger.trail(submission.id)[-1].data["envelope"]
    assert base64.b64decode(envelope["data"]["content"]) == b"<x/>"
    assert envelope["deliveryId"] == dispatched.delivery_id

    def receipt(**overrides: str) -> tuple[bytes, str]:
        body = {
            "deliveryId": dispatched.delivery_id,
            "submissionId": str(submission.id),
            "authorityId": "jobcenter-koeln",
            "outcome": "accepted",
        } | overrides
        return json.dumps(body).encode(), topics.RECEIPTS

    await _publish(
        broker,
        (b"\xff not json", topics.RECEIPTS),  # malformed: skipped, does not block
        receipt(authorityId="jobcenter-region-hannover"),  # not the addressee: refused
        receipt(deliveryId="00000000-0000-0000-0000-000000000000"),  # another delivery: refused
        receipt(),
        receipt(outcome="rejected"),  # a second receipt changes nothing
    )
    final = ledger.get_submission(UUID(str(submission.id)))
    assert final.status is Status.ACCEPTED
    trail = ledger.trail(submission.id)
    assert [e.event for e in trail][3:] == [
        "Dispatched",
        "ReceiptRefused",
        "ReceiptRefused",
        "Accepted",
    ]
    assert [e.data["reason"] for e in trail[4:6]] == ["wrong-authority", "other-delivery"]
    assert final.version == 7
