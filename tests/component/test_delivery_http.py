"""The authorities' HTTP API on the intake app: envelope, parts, receipts (SQLite ledger)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from events.blobs import BlobStore
from events.ledger import Ledger
from events.lifecycle import Status
from events.submission import Submission
from receiver.keys import Decrypter, Signer
from services.delivery.http import create_router
from services.delivery.projector import DeliveryProjector
from services.delivery.recipients import Recipient, Recipients
from services.delivery.store import delivery_store
from services.intake.http import create_app
from tests.support.authority import HANNOVER, KOELN, encryption_key, signing_key
from tests.support.delivery import (
    ATTACHMENT,
    ATTACHMENT_ID,
    DATA,
    TOKENS,
    dispatched,
    recipients,
    settings,
)
from tests.support.intake import assert_problem
from tests.support.pipeline import intake_settings

Client = Callable[[Recipients], AbstractAsyncContextManager[httpx.AsyncClient]]


def bearer(authority: str = KOELN) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[authority]}"}


@pytest.fixture
def api(ledger: Ledger, blobs: BlobStore) -> Client:
    @asynccontextmanager
    async def client(known: Recipients) -> AsyncIterator[httpx.AsyncClient]:
        app: FastAPI = create_app(ledger, blobs, intake_settings(port=0))
        projector = DeliveryProjector(ledger, delivery_store(ledger.settings), known.has_callback)
        app.include_router(create_router(ledger, blobs, projector, known, settings()))
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
    api: Client, ledger: Ledger, blobs: BlobStore
) -> None:
    known = recipients(Recipient(HANNOVER))
    submission = dispatched(ledger, blobs, known)
    path = f"/v1/deliveries/{submission.delivery_id}"
    async with api(known) as client:
        answer = await client.get(path, headers=bearer())
        assert answer.status_code == 200
        envelope = answer.json()
        assert envelope == submission.envelope
        reference = envelope["attachments"][0]["reference"]
        assert reference == f"{path}/parts/{ATTACHMENT_ID}"
        part = await client.get(reference, headers=bearer())
        assert part.status_code == 200
        assert part.headers["content-type"] == "application/jose"
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


async def test_without_a_key_parts_are_served_as_they_are(
    api: Client, ledger: Ledger, blobs: BlobStore
) -> None:
    known = recipients(encrypted=False)
    submission = dispatched(ledger, blobs, known)
    async with api(known) as client:
        part = await client.get(
            f"/v1/deliveries/{submission.delivery_id}/parts/{ATTACHMENT_ID}", headers=bearer()
        )
    assert part.status_code == 200
    assert part.headers["content-type"] == "application/pdf"
    assert part.content == ATTACHMENT


async def test_receipts_over_http_follow_the_same_rules(
    api: Client, ledger: Ledger, blobs: BlobStore
) -> None:
    known = recipients(Recipient(HANNOVER))
    submission = dispatched(ledger, blobs, known)
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
