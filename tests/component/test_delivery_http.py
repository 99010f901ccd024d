"""The authorities' HTTP API on the intake app: envelope, parts, receipts (SQLite ledger)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from contracts.envelope_signature import (
    HTTP_SIGNATURE_HEADER,
    KEYS_PATH,
    EnvelopeSignatureError,
    keys_by_id,
    verify_envelope,
)
from events.ledger import Ledger
from events.lifecycle import Status
from events.submission import Submission
from events.vault import Vault
from receiver.keys import Decrypter, Signer
from services.delivery.handler import dispatch_submission
from services.delivery.http import create_router
from services.delivery.keys_http import keys_router
from services.delivery.projector import DeliveryProjector
from services.delivery.recipients import Recipient, Recipients
from services.delivery.store import delivery_store
from services.intake.http import create_app
from tests.support.authority import (
    HANNOVER,
    KOELN,
    amtsweg_signer,
    encryption_key,
    signing_key,
)
from tests.support.delivery import (
    ATTACHMENT,
    ATTACHMENT_ID,
    DATA,
    TOKENS,
    dispatched,
    recipients,
    settings,
)
from tests.support.factories import sealed_submission
from tests.support.intake import assert_problem
from tests.support.pipeline import intake_settings

Client = Callable[[Recipients], AbstractAsyncContextManager[httpx.AsyncClient]]


def bearer(authority: str = KOELN) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[authority]}"}


@pytest.fixture
def api(ledger: Ledger, vault: Vault) -> Client:
    @asynccontextmanager
    async def client(known: Recipients) -> AsyncIterator[httpx.AsyncClient]:
        app: FastAPI = create_app(ledger, vault, intake_settings(port=0))
        projector = DeliveryProjector(ledger, delivery_store(ledger.settings), known.has_callback)
        app.include_router(
            create_router(ledger, vault, projector, known, settings(), signer=amtsweg_signer())
        )
        app.include_router(keys_router(amtsweg_signer()))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http

    return client


def _receipt(submission: Submission, **overrides: object) -> bytes:
    body = {
        "deliveryId": submission.delivery_id,
        "submissionId": str(submission.id),
        "authorityId": KOELN,
        "outcome": "accepted",
    } | overrides
    return json.dumps(body).encode()


def _jose(body: bytes) -> dict[str, object]:
    return {
        "content": Signer(signing_key()).sign(body),
        "headers": {**bearer(), "content-type": "application/jose"},
    }


async def test_the_addressee_fetches_its_encrypted_delivery_and_parts(
    api: Client, ledger: Ledger, vault: Vault
) -> None:
    known = recipients(Recipient(HANNOVER))
    submission = dispatched(ledger, vault, known)
    path = f"/v1/deliveries/{submission.delivery_id}"
    async with api(known) as client:
        answer = await client.get(path, headers=bearer())
        assert answer.status_code == 200
        envelope = answer.json()
        published = vault.envelope(submission.id, submission.envelope)
        assert published is not None
        assert envelope == json.loads(published)
        assert envelope["encryption"]["kid"] == encryption_key()["kid"]
        assert "metadata" not in envelope
        keys = await client.get(KEYS_PATH)  # public: no token
        assert keys.status_code == 200
        assert keys.headers["content-type"] == "application/jwk-set+json"
        assert all("d" not in jwk for jwk in keys.json()["keys"])
        signature = answer.headers[HTTP_SIGNATURE_HEADER]
        by_id = keys_by_id(keys.json())
        assert verify_envelope(answer.content, signature, by_id) == amtsweg_signer().kid
        with pytest.raises(EnvelopeSignatureError):
            verify_envelope(answer.content.replace(b'"', b"'", 1), signature, by_id)
        reference = envelope["attachments"][0]["reference"]
        assert reference == f"{path}/parts/{ATTACHMENT_ID}"
        part = await client.get(reference, headers=bearer())
        assert part.status_code == 200
        assert part.headers["content-type"] == "application/jose"
        assert part.headers["content-disposition"] == f'attachment; filename="{ATTACHMENT_ID}.jwe"'
        assert part.headers["x-content-type-options"] == "nosniff"
        content = Decrypter(encryption_key()).decrypt(part.text)
        assert content == ATTACHMENT
        assert hashlib.sha512(content).hexdigest() == envelope["attachments"][0]["sha512"]
        data = await client.get(f"{path}/parts/data", headers=bearer())
        assert Decrypter(encryption_key()).decrypt(data.text) == DATA

        assert_problem(await client.get(path), 401, "unauthorized")
        assert_problem(
            await client.get(path, headers={"Authorization": "Bearer guessed"}), 401, "unauthorized"
        )
        assert_problem(await client.get(path, headers=bearer(HANNOVER)), 404, "delivery-not-found")
        assert_problem(await client.get(reference, headers=bearer(HANNOVER)), 404, "part-not-found")
        assert_problem(
            await client.get(f"{path}/parts/nope", headers=bearer()), 404, "part-not-found"
        )
        assert_problem(
            await client.get("/v1/deliveries/unknown", headers=bearer()), 404, "delivery-not-found"
        )


async def test_without_a_key_nothing_is_delivered(ledger: Ledger, vault: Vault) -> None:
    known = recipients(encrypted=False)
    submission = sealed_submission(vault, DATA, chain=ledger.chain_keys)
    submission.validate("cat", "u")
    submission.route(KOELN, "053150000000", "053150000000", "dir")
    ledger.save(submission)
    assert dispatch_submission(ledger, vault, settings(), submission.id, known)
    withheld = ledger.get_submission(submission.id)
    assert withheld.status is Status.WITHHELD
    assert withheld.delivery_id is None
    assert [e.event for e in ledger.trail(submission.id)][-1] == "Withheld"


async def test_after_erasure_the_delivery_answers_content_erased(
    api: Client, ledger: Ledger, vault: Vault
) -> None:
    known = recipients()
    submission = dispatched(ledger, vault, known)
    vault.erase(submission.id)
    path = f"/v1/deliveries/{submission.delivery_id}"
    async with api(known) as client:
        assert_problem(await client.get(path, headers=bearer()), 410, "content-erased")
        assert_problem(
            await client.get(f"{path}/parts/data", headers=bearer()), 410, "content-erased"
        )


async def test_receipts_over_http_follow_the_same_rules(
    api: Client, ledger: Ledger, vault: Vault
) -> None:
    known = recipients(Recipient(HANNOVER))
    submission = dispatched(ledger, vault, known)
    path = f"/v1/deliveries/{submission.delivery_id}/receipt"
    async with api(known) as client:
        assert_problem(await client.post(path, content=_receipt(submission)), 401, "unauthorized")
        assert_problem(
            await client.post(path, content=b"{", headers=bearer()), 400, "malformed-receipt"
        )
        unsigned = await client.post(path, content=_receipt(submission), headers=bearer())
        assert_problem(unsigned, 422, "receipt-signature-required")
        other = _receipt(submission, deliveryId="00000000-0000-4000-8000-000000000000")
        assert_problem(
            await client.post(path, **_jose(other)),  # type: ignore[arg-type]
            422,
            "delivery-id-mismatch",
        )
        as_hannover = await client.post(
            path, content=_receipt(submission), headers=bearer(HANNOVER)
        )
        assert_problem(as_hannover, 403, "wrong-authority")  # the token is not Köln's
        claims_hannover = _receipt(submission, authorityId=HANNOVER)
        assert_problem(
            await client.post(path, content=claims_hannover, headers=bearer(HANNOVER)),
            403,
            "wrong-authority",
        )
        forged = Signer(signing_key("intruder")).sign(_receipt(submission))
        answer = await client.post(
            path, content=forged, headers={**bearer(), "content-type": "application/jose"}
        )
        assert_problem(answer, 422, "receipt-signature-invalid")

        first = await client.post(path, **_jose(_receipt(submission)))  # type: ignore[arg-type]
        again = await client.post(path, **_jose(_receipt(submission)))  # type: ignore[arg-type]
    assert first.status_code == 200, first.text
    assert first.json() == {
        "deliveryId": submission.delivery_id,
        "outcome": "accepted",
        "recorded": True,
    }
    assert again.json()["recorded"] is False
    assert ledger.get_submission(submission.id).status is Status.ACCEPTED
    refused = [e.data["reason"] for e in ledger.trail(submission.id) if e.event == "ReceiptRefused"]
    assert refused == [
        "signature-missing",
        "sender-mismatch",
        "wrong-authority",
        "signature-invalid",
    ]


async def test_openapi_documents_portal_and_authority_routes(api: Client, ledger: Ledger) -> None:
    async with api(recipients()) as client:
        document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    assert "/v1/submissions" in paths
    receipt = paths["/v1/deliveries/{delivery_id}/receipt"]["post"]
    content = receipt["requestBody"]["content"]
    assert set(content) == {"application/json", "application/jose"}
    assert "deliveryId" in content["application/json"]["schema"]["properties"]
    refs = json.dumps(document)
    for name in ("Problem", "Location"):
        if f"#/components/schemas/{name}" in refs:
            assert name in document["components"]["schemas"]
