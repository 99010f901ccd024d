"""The follow-up delivery (TestKafkaBroker, SQLite ledger): documents handed in later go to
the authority that holds the case, encrypted to it; its receipt is recorded."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast
from uuid import uuid4

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker, TestKafkaBroker

from contracts import replies, topics
from contracts.messages import SubmissionEventMessage
from contracts.replies import SupplementEnvelope
from events.ledger import Ledger
from events.outbox import Outbound
from events.relay import Relay
from events.relay_store import relay_store
from events.submission import Submission
from events.vault import Vault
from receiver.consume import Receiver, ReceiverConfig
from receiver.inbox import Inbox
from receiver.keys import Decrypter, Signer
from receiver.trust import EnvelopeVerifier
from services.delivery import handler as delivery
from services.delivery.follow_up import SUPPLEMENT_RECEIVED, follow_up_delivery_id
from services.delivery.http import create_router
from services.delivery.projector import DeliveryProjector
from services.delivery.recipients import Recipients
from services.delivery.store import delivery_store
from services.intake.http import create_app
from services.runtime.settings import StageSettings
from tests.support.authority import KOELN, amtsweg_signer, encryption_key, signing_key
from tests.support.delivery import TOKENS, dispatched, koeln, recipients, settings
from tests.support.factories import sha512
from tests.support.pipeline import auth, intake_settings

SMALL = b"%PDF-1.7 small (synthetic)"
LARGE = b"%PDF-1.7 " + b"Lohnabrechnung (synthetic) " * 40  # beyond the inline limit


def _hand_in(ledger: Ledger, vault: Vault, submission: Submission, sid: str = "s-1") -> None:
    """A supplement with a small and a large PDF, sealed and recorded as the intake does."""
    parts = []
    for part_id, content in (("small", SMALL), ("large", LARGE)):
        sealed = vault.put(submission.id, content)
        parts.append(
            {"partId": part_id, "blob": sealed.blob, "sha512": sealed.sha512, "size": sealed.size}
        )
    dossier = vault.put_document(
        submission.id,
        {
            "note": "Nachreichung (synthetic)",
            "answers": None,
            "attachments": [
                {"attachmentId": "small", "mimeType": "application/pdf", "filename": "a.pdf"},
                {"attachmentId": "large", "mimeType": "application/pdf", "filename": "b.pdf"},
            ],
        },
    )
    ledger.execute(
        submission.id,
        lambda s: s.hand_in(
            sid, answers=None, dossier=dossier.blob, parts=parts, request_digest="d" * 64
        ),
    )


def _notice(ledger: Ledger, submission: Submission) -> bytes:
    current = ledger.get_submission(submission.id)
    message = SubmissionEventMessage(
        submission_id=str(current.id),
        event="SupplementReceived",
        version=current.version,
        timestamp=current.created_on.isoformat(),
        hash=current.chain_head,
    )
    return message.model_dump_json(by_alias=True).encode()


async def _deliver(ledger: Ledger, vault: Vault, known: Recipients, *bodies: bytes) -> None:
    broker = KafkaBroker()
    delivery.register(broker, ledger, vault, settings(), known, stage_settings=StageSettings())
    async with TestKafkaBroker(broker) as test_broker:
        for body in bodies:
            await test_broker.publish(body, SUPPLEMENT_RECEIVED)


class Collected:
    """A publisher for the relay that keeps what it was given (the broker's view)."""

    def __init__(self) -> None:
        self.sent: list[Outbound] = []

    async def send(self, outbound: Outbound) -> Any:
        self.sent.append(outbound)
        ack: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        ack.set_result(None)
        return ack


async def _published(ledger: Ledger, vault: Vault, topic: str) -> list[Outbound]:
    collected = Collected()
    relay = Relay(
        ledger,
        relay_store(ledger.settings),
        collected,
        envelopes=vault.envelope,
        sign_envelopes=amtsweg_signer().sign,
    )
    while await relay.publish_batch():
        pass
    return [o for o in collected.sent if o.topic == topic]


@pytest.fixture
def transport(ledger: Ledger, vault: Vault) -> httpx.ASGITransport:
    """The intake app (portals' routes) with the authorities' routes."""
    known = recipients()
    app = create_app(ledger, vault, intake_settings(port=0))
    projector = DeliveryProjector(ledger, delivery_store(ledger.settings), known.has_callback)
    app.include_router(
        create_router(ledger, vault, projector, known, settings(), signer=amtsweg_signer())
    )
    return httpx.ASGITransport(app=app)


@pytest.fixture
async def authority_api(transport: httpx.ASGITransport) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def _bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[KOELN]}"}


async def test_a_supplement_goes_to_the_authority_encrypted_once(
    ledger: Ledger, vault: Vault, authority_api: httpx.AsyncClient
) -> None:
    known = recipients()
    submission = dispatched(ledger, vault, known)
    _hand_in(ledger, vault, submission)
    notice = _notice(ledger, submission)
    await _deliver(ledger, vault, known, notice, notice)  # a repeated notice changes nothing

    current = ledger.get_submission(submission.id)
    supplement = current.supplements["s-1"]
    expected_id = follow_up_delivery_id(submission.id, "s-1", KOELN)
    assert supplement.delivery_id == expected_id
    events = [e.event for e in ledger.trail(submission.id)]
    assert events.count("SupplementDispatched") == 1
    dispatched_event = ledger.trail(submission.id)[-1]
    assert dispatched_event.data["topic"] == topics.delivery_topic(KOELN)
    assert dispatched_event.data["refers_to"] == submission.delivery_id
    assert "b.pdf" not in json.dumps(dispatched_event.data)

    delivery_and_follow_up = await _published(ledger, vault, topics.delivery_topic(KOELN))
    assert len(delivery_and_follow_up) == 2
    published = delivery_and_follow_up[-1]
    headers = dict(published.headers)
    assert headers[replies.MESSAGE_HEADER] == replies.SUPPLEMENT.encode()
    assert headers["amtsweg-delivery-id"] == expected_id.encode()
    envelope = SupplementEnvelope.model_validate_json(published.value)
    assert (envelope.delivery_id, envelope.refers_to) == (expected_id, submission.delivery_id)
    assert (envelope.supplement_id, envelope.case_id) == ("s-1", current.case_id)
    assert envelope.metadata is None
    assert b"b.pdf" not in published.value
    assert b"Nachreichung" not in published.value
    decrypter = Decrypter(encryption_key())
    assert envelope.encrypted_metadata is not None
    metadata = json.loads(decrypter.decrypt(envelope.encrypted_metadata))
    assert metadata["note"] == "Nachreichung (synthetic)"
    assert [a["filename"] for a in metadata["attachments"]] == ["a.pdf", "b.pdf"]
    small, large = envelope.attachments
    assert small.content is not None
    assert small.reference is None
    assert decrypter.decrypt(small.content) == SMALL
    assert (small.sha512, large.sha512) == (sha512(SMALL), sha512(LARGE))
    assert large.content is None
    assert large.reference == f"/v1/deliveries/{expected_id}/parts/large"

    fetched = await authority_api.get(large.reference, headers=_bearer())
    assert fetched.status_code == 200, fetched.text
    assert decrypter.decrypt(fetched.text) == LARGE
    again = await authority_api.get(f"/v1/deliveries/{expected_id}", headers=_bearer())
    assert again.status_code == 200
    assert again.content == published.value
    missing = await authority_api.get(f"/v1/deliveries/{expected_id}/parts/data", headers=_bearer())
    assert missing.status_code == 404


async def test_an_authority_without_a_key_gets_nothing(ledger: Ledger, vault: Vault) -> None:
    submission = dispatched(ledger, vault, recipients())
    _hand_in(ledger, vault, submission)
    version = ledger.get_submission(submission.id).version
    keyless = Recipients([koeln(encrypted=False)])
    await _deliver(ledger, vault, keyless, _notice(ledger, submission))
    current = ledger.get_submission(submission.id)
    assert current.version == version
    assert current.supplements["s-1"].delivery_id is None
    await _deliver(ledger, vault, recipients(), _notice(ledger, submission))  # key registered
    assert ledger.get_submission(submission.id).supplements["s-1"].delivery_id is not None


async def test_an_authority_on_fit_connect_gets_its_pickup_channel(
    ledger: Ledger, vault: Vault
) -> None:
    on_fit_connect = Recipients([dataclasses.replace(koeln(), fit_connect=True)])
    submission = dispatched(ledger, vault, recipients())
    _hand_in(ledger, vault, submission)
    await _deliver(ledger, vault, on_fit_connect, _notice(ledger, submission))
    last = ledger.trail(submission.id)[-1]
    assert last.event == "SupplementDispatched"
    assert last.data["topic"] == topics.pickup_channel(KOELN)
    published = await _published(ledger, vault, topics.delivery_topic(KOELN))
    kinds = [dict(o.headers).get(replies.MESSAGE_HEADER) for o in published]
    assert kinds == [replies.DELIVERY.encode()]  # the delivery only: nothing for the pickup


def _receipt(submission: Submission, delivery_id: str, outcome: str = "accepted") -> bytes:
    body = {
        "deliveryId": delivery_id,
        "submissionId": str(submission.id),
        "authorityId": KOELN,
        "outcome": outcome,
    }
    return Signer(signing_key()).sign(json.dumps(body).encode()).encode()


async def test_the_receipt_of_a_follow_up_delivery_is_recorded(
    ledger: Ledger, vault: Vault, authority_api: httpx.AsyncClient
) -> None:
    known = recipients()
    submission = dispatched(ledger, vault, known)
    _hand_in(ledger, vault, submission, "s-1")
    _hand_in(ledger, vault, submission, "s-2")
    await _deliver(ledger, vault, known, _notice(ledger, submission))
    current = ledger.get_submission(submission.id)
    first, second = (current.supplements[s].delivery_id for s in ("s-1", "s-2"))
    assert first is not None
    assert second is not None

    broker = KafkaBroker()
    delivery.register(broker, ledger, vault, settings(), known, stage_settings=StageSettings())
    async with TestKafkaBroker(broker) as test_broker:
        for _ in range(2):  # the same receipt again changes nothing
            await test_broker.publish(_receipt(submission, first), topics.RECEIPTS)
    answered = ledger.get_submission(submission.id)
    assert answered.supplements["s-1"].outcome == "accepted"
    assert answered.status is current.status  # the case's own delivery is untouched
    acknowledged = [e for e in ledger.trail(submission.id) if e.event == "SupplementAcknowledged"]
    assert len(acknowledged) == 1
    assert acknowledged[0].data["signed_receipt"] is not None

    posted = await authority_api.post(
        f"/v1/deliveries/{second}/receipt",
        content=_receipt(submission, second, "rejected"),
        headers=_bearer() | {"content-type": "application/jose"},
    )
    assert posted.status_code == 200, posted.text
    assert posted.json()["recorded"] is True
    assert ledger.get_submission(submission.id).supplements["s-2"].outcome == "rejected"

    unsigned = json.dumps(
        {
            "deliveryId": second,
            "submissionId": str(submission.id),
            "authorityId": KOELN,
            "outcome": "accepted",
        }
    )
    refused = await authority_api.post(
        f"/v1/deliveries/{second}/receipt",
        content=unsigned,
        headers=_bearer() | {"content-type": "application/json"},
    )
    assert refused.status_code == 422
    assert ledger.get_submission(submission.id).supplements["s-2"].outcome == "rejected"


def test_follow_up_ids_are_stable_and_distinct() -> None:
    submission_id = uuid4()
    one = follow_up_delivery_id(submission_id, "s-1", KOELN)
    assert one == follow_up_delivery_id(submission_id, "s-1", KOELN)
    assert one != follow_up_delivery_id(submission_id, "s-2", KOELN)
    assert one != follow_up_delivery_id(submission_id, "s-1", "jobcenter-region-hannover")


class Receipts:
    """The receiver's producer: keeps the receipts it sends."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def send_and_wait(self, topic: str, value: bytes, key: bytes) -> None:
        assert topic == topics.RECEIPTS
        self.sent.append(value)


async def test_a_portal_hands_in_and_the_reference_receiver_takes_it(
    ledger: Ledger,
    vault: Vault,
    transport: httpx.ASGITransport,
    authority_api: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    """POST → follow-up delivery → relay → reference receiver → receipt → accepted."""
    known = recipients()
    submission = dispatched(ledger, vault, known)
    body = {
        "note": "Nachreichung (synthetic)",
        "attachments": [
            {
                "attachmentId": "payslip",
                "mimeType": "application/pdf",
                "filename": "Lohnabrechnung.pdf",
                "hash": {"type": "sha512", "content": sha512(LARGE)},
                "content": base64.b64encode(LARGE).decode(),
            }
        ],
    }
    posted = await authority_api.post(
        f"/v1/submissions/{submission.id}/supplements", json=body, headers=auth()
    )
    assert posted.status_code == 202, posted.text
    sid = posted.json()["supplementId"]
    await _deliver(ledger, vault, known, _notice(ledger, submission))
    status = await authority_api.get(posted.json()["_links"]["self"]["href"], headers=auth())
    assert status.json()["status"] == "dispatched"

    follow_up = (await _published(ledger, vault, topics.delivery_topic(KOELN)))[-1]
    receipts = Receipts()
    config = ReceiverConfig(
        KOELN,
        "unused:9092",
        tmp_path / "inbox",
        decryption_key=encryption_key(),
        signing_key=signing_key(),
        api="http://test",
        token=TOKENS[KOELN],
    )
    (tmp_path / "inbox").mkdir()
    verifier = EnvelopeVerifier({amtsweg_signer().kid: amtsweg_signer().jwks()["keys"][0]})
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=_bearer()
    ) as http:
        receiver = Receiver(
            config,
            Inbox(tmp_path / "inbox"),
            cast(AIOKafkaProducer, receipts),
            http,
            verifier,
        )
        await receiver.handle(follow_up.value, follow_up.headers)
    written = tmp_path / "inbox" / str(submission.delivery_id) / "supplements" / sid
    assert (written / "payslip.pdf").read_bytes() == LARGE
    assert json.loads((written / "supplement.json").read_text())["note"] == body["note"]
    (receipt,) = receipts.sent

    broker = KafkaBroker()
    delivery.register(broker, ledger, vault, settings(), known, stage_settings=StageSettings())
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(receipt, topics.RECEIPTS)
    status = await authority_api.get(posted.json()["_links"]["self"]["href"], headers=auth())
    assert status.json()["status"] == "accepted"
