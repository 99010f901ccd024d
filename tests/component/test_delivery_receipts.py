"""Receipts on the topic (TestKafkaBroker): signatures required by the directory, addressee only."""

from __future__ import annotations

import json
from pathlib import Path

from faststream.kafka import KafkaBroker, TestKafkaBroker

from contracts import topics
from events.ledger import Ledger
from events.lifecycle import Status
from events.submission import Submission
from events.vault import Vault
from receiver.keys import Decrypter, Signer
from services.delivery import handler as delivery
from services.delivery.dev_keys import DevelopmentKeys
from services.delivery.recipients import Recipient, Recipients
from services.runtime.settings import StageSettings
from tests.support.authority import HANNOVER, KOELN, signing_key
from tests.support.delivery import DATA, dispatched, koeln, recipients, settings


def _receipt(submission: Submission, **overrides: object) -> bytes:
    body = {
        "deliveryId": submission.delivery_id,
        "submissionId": str(submission.id),
        "authorityId": KOELN,
        "outcome": "accepted",
        "reference": "AZ-2026-17",
    } | overrides
    return json.dumps(body).encode()


def _signed(body: bytes, key: str = "koeln-sig-1") -> bytes:
    return Signer(signing_key(key)).sign(body).encode()


async def _publish(known: Recipients, ledger: Ledger, vault: Vault, *bodies: bytes) -> None:
    broker = KafkaBroker()
    delivery.register(broker, ledger, vault, settings(), known, stage_settings=StageSettings())
    async with TestKafkaBroker(broker) as test_broker:
        for body in bodies:
            await test_broker.publish(body, topics.RECEIPTS)


def _tail(ledger: Ledger, submission: Submission) -> list[tuple[str, str | None]]:
    trail = ledger.trail(submission.id)[4:]
    return [(e.event, e.data.get("reason") or e.data.get("reference")) for e in trail]


async def test_only_a_correctly_signed_receipt_of_the_addressee_counts(
    ledger: Ledger, vault: Vault, tmp_path: Path
) -> None:
    hannover = Recipient(HANNOVER)
    known = recipients(hannover)
    submission = dispatched(ledger, vault, known)
    genuine = _signed(_receipt(submission))
    await _publish(
        known,
        ledger,
        vault,
        _receipt(submission),  # unsigned, but the directory holds Köln's key
        _signed(_receipt(submission), key="intruder"),  # signed with another key
        _signed(_receipt(submission, authorityId=HANNOVER)),  # another authority
        _signed(_receipt(submission, deliveryId="00000000-0000-4000-8000-000000000000")),
        genuine,
        _signed(_receipt(submission, outcome="rejected")),  # a second receipt: nothing
        genuine,  # the same again: nothing
    )
    final = ledger.get_submission(submission.id)
    assert final.status is Status.ACCEPTED
    assert _tail(ledger, submission) == [
        ("ReceiptRefused", "signature-missing"),
        ("ReceiptRefused", "signature-invalid"),
        ("ReceiptRefused", "wrong-authority"),
        ("ReceiptRefused", "other-delivery"),
        ("Accepted", "AZ-2026-17"),
    ]
    accepted = ledger.trail(submission.id)[-1]
    assert accepted.data["signed_receipt"] == genuine.decode()  # the proof is kept


async def test_without_a_verification_key_no_receipt_counts_outside_development(
    ledger: Ledger, vault: Vault
) -> None:
    known = recipients(signed=False)
    assert not known.accept_unsigned_receipts
    submission = dispatched(ledger, vault, known)
    await _publish(
        known,
        ledger,
        vault,
        _receipt(submission),  # unsigned
        _signed(_receipt(submission)),  # signed, but with no key to check it against
    )
    assert ledger.get_submission(submission.id).status is Status.DISPATCHED
    assert _tail(ledger, submission) == [
        ("ReceiptRefused", "no-verification-key"),
        ("ReceiptRefused", "no-verification-key"),
    ]


async def test_in_development_plain_receipts_of_an_authority_without_key_count(
    ledger: Ledger, vault: Vault
) -> None:
    known = Recipients([koeln(signed=False)], accept_unsigned_receipts=True)
    submission = dispatched(ledger, vault, known)
    problems = [{"type": "https://amtsweg.de/problems/not-ours", "title": "Nicht zuständig"}]
    await _publish(
        known,
        ledger,
        vault,
        b"\xff not a receipt",  # skipped, does not block the topic
        _receipt(submission, outcome="not-responsible", problems=problems),
    )
    final = ledger.get_submission(submission.id)
    assert final.status is Status.DECLINED  # "not responsible": routing forwards it
    declined = ledger.trail(submission.id)[-1]
    assert declined.event == "Declined"
    assert declined.data["authority_id"] == KOELN
    assert declined.data["problems"] == problems
    assert declined.data["signed_receipt"] is None


async def test_in_development_the_delivery_is_sealed_to_and_signed_with_development_keys(
    ledger: Ledger, vault: Vault, tmp_path: Path
) -> None:
    keys = DevelopmentKeys(tmp_path / "authority-keys")
    known = Recipients([koeln(encrypted=False, signed=False)], development_keys=keys)
    submission = dispatched(ledger, vault, known)
    pair = keys.get(KOELN)
    published = vault.envelope(submission.id, ledger.trail(submission.id)[3].data["envelope"])
    assert published is not None
    envelope = json.loads(published)
    assert envelope["encryption"]["kid"] == f"{KOELN}-dev-enc"
    opened = Decrypter(pair.encryption).decrypt(envelope["data"]["content"])
    assert opened == DATA

    await _publish(
        known,
        ledger,
        vault,
        _receipt(submission),  # unsigned: the development key is there to check it
        Signer(pair.signing).sign(_receipt(submission)).encode(),
    )

    assert ledger.get_submission(submission.id).status is Status.ACCEPTED
    assert _tail(ledger, submission) == [
        ("ReceiptRefused", "signature-missing"),
        ("Accepted", "AZ-2026-17"),
    ]
