"""The reference receiver's side of a case: documents handed in later and overdue requests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
from aiokafka import AIOKafkaProducer

from contracts.envelope_signature import SIGNATURE_HEADER
from contracts.replies import (
    MESSAGE_HEADER,
    REQUEST_OVERDUE,
    SUPPLEMENT,
    RequestOverdueNotice,
    SupplementEnvelope,
)
from events.case import Supplement
from receiver.consume import Receiver, ReceiverConfig
from receiver.inbox import Inbox
from receiver.trust import EnvelopeVerifier
from services.delivery.crypto import JweSealer
from services.delivery.envelope import InlinePolicy
from services.delivery.follow_up import HandedIn, build_supplement_envelope
from tests.support.authority import amtsweg_signer, encryption_key, public
from tests.support.factories import dispatched_submission, sha512

API = "https://amtsweg.example.de"
AUTHORITY = "jobcenter-koeln"
FOLLOW_UP = "6a1f3c2e-9b7d-4e21-8c5a-3d2f1e0b9a87"
SMALL = b"%PDF-1.7 small (synthetic)"
LARGE = b"%PDF-1.7 " + b"Lohnabrechnung (synthetic) " * 40
BLOBS = {"blob-small": SMALL, "blob-large": LARGE}


def _envelope(large: bytes = LARGE) -> SupplementEnvelope:
    submission = dispatched_submission(AUTHORITY, "d-1")
    supplement = Supplement(
        "s-1",
        "d" * 64,
        "request-1",
        parts=[
            {"partId": "small", "blob": "blob-small", "sha512": sha512(SMALL), "size": len(SMALL)},
            {"partId": "large", "blob": "blob-large", "sha512": sha512(large), "size": len(large)},
        ],
    )
    said = HandedIn(
        note="Die Lohnabrechnung (synthetic)",
        answers="request-1",
        declared={
            "small": {"attachmentId": "small", "mimeType": "application/pdf", "filename": "a.pdf"},
            "large": {"attachmentId": "large", "mimeType": "application/pdf", "filename": "b.pdf"},
        },
    )
    return build_supplement_envelope(
        submission,
        supplement,
        said,
        FOLLOW_UP,
        BLOBS.__getitem__,
        inline=InlinePolicy(part_limit=100, total_limit=1000),
        now=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        sealer=JweSealer(public(encryption_key())),
        base_url=API,
    )


class Producer:
    """Keeps the receipts the receiver sends."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_and_wait(self, topic: str, value: bytes, key: bytes) -> None:
        self.sent.append(json.loads(value))


def _receiver(tmp_path: Path, producer: Producer, served: bytes = LARGE) -> Receiver:
    sealer = JweSealer(public(encryption_key()))

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == f"/v1/deliveries/{FOLLOW_UP}/parts/large":
            return httpx.Response(200, content=sealer.seal(served, "application/pdf").encode())
        return httpx.Response(404)

    config = ReceiverConfig(
        AUTHORITY, "unused:9092", tmp_path, decryption_key=encryption_key(), api=API, token="t"
    )
    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    verifier = EnvelopeVerifier({amtsweg_signer().kid: amtsweg_signer().jwks()["keys"][0]})
    return Receiver(config, Inbox(tmp_path), cast(AIOKafkaProducer, producer), http, verifier)


def _message(envelope: SupplementEnvelope) -> tuple[bytes, list[tuple[str, bytes]]]:
    value = envelope.model_dump_json(by_alias=True, exclude_none=True).encode()
    signature = amtsweg_signer().sign(value).encode()
    return value, [(MESSAGE_HEADER, SUPPLEMENT.encode()), (SIGNATURE_HEADER, signature)]


async def test_a_supplement_is_written_next_to_its_case_and_accepted(tmp_path: Path) -> None:
    producer = Producer()
    receiver = _receiver(tmp_path, producer)
    value, headers = _message(_envelope())
    await receiver.handle(value, headers)

    folder = tmp_path / "d-1" / "supplements" / "s-1"
    assert (folder / "small.pdf").read_bytes() == SMALL
    assert (folder / "large.pdf").read_bytes() == LARGE
    summary = json.loads((folder / "supplement.json").read_text())
    assert summary["refersTo"] == "d-1"
    assert summary["deliveryId"] == FOLLOW_UP
    assert summary["answers"] == "request-1"
    assert summary["note"] == "Die Lohnabrechnung (synthetic)"
    assert [p["filename"] for p in summary["parts"]] == ["a.pdf", "b.pdf"]
    (receipt,) = producer.sent
    assert (receipt["deliveryId"], receipt["outcome"]) == (FOLLOW_UP, "accepted")
    assert receiver.summary.supplements == 1

    await receiver.handle(value, headers)  # again: the stored receipt, nothing rewritten
    assert [r["outcome"] for r in producer.sent] == ["accepted", "accepted"]
    assert receiver.summary.duplicates == 1


async def test_a_supplement_with_a_wrong_part_is_rejected(tmp_path: Path) -> None:
    producer = Producer()
    receiver = _receiver(tmp_path, producer, served=b"%PDF something else")
    await receiver.handle(*_message(_envelope()))
    (receipt,) = producer.sent
    assert receipt["outcome"] == "rejected"
    assert receipt["problems"][0]["type"].endswith("hash-mismatch")
    assert not (tmp_path / "d-1" / "supplements" / "s-1").exists()


async def test_an_unsigned_supplement_is_refused_unread(tmp_path: Path) -> None:
    producer = Producer()
    receiver = _receiver(tmp_path, producer)
    value, _ = _message(_envelope())
    await receiver.handle(value, [(MESSAGE_HEADER, SUPPLEMENT.encode())])
    assert producer.sent == []
    assert receiver.summary.refused == 1


async def test_an_overdue_request_is_noted(tmp_path: Path) -> None:
    producer = Producer()
    receiver = _receiver(tmp_path, producer)
    notice = RequestOverdueNotice(
        reply_id="request-1",
        submission_id="5d0c3f3e-0f5b-4a59-9f0e-6b0c2a7d9e11",
        case_id="case-1",
        due="2026-03-01T00:00:00+00:00",
        recorded_at="2026-03-01T00:05:00+00:00",
    )
    value = notice.model_dump_json(by_alias=True).encode()
    await receiver.handle(value, [(MESSAGE_HEADER, REQUEST_OVERDUE.encode())])
    written = json.loads((tmp_path / "notices" / "overdue-request-1.json").read_text())
    assert written["replyId"] == "request-1"
    assert written["due"] == "2026-03-01T00:00:00+00:00"
    assert producer.sent == []
    assert receiver.summary.notices == 1
