"""End to end on the real broker: HTTP in, the authority's topic out, a receipt back."""

from __future__ import annotations

import asyncio
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from contracts import topics
from deploy.broker import BrokerHandle
from events.ledger import Ledger
from events.relay_store import relay_store
from events.settings import LedgerSettings
from receiver.keys import Decrypter
from services.ops.actions.verify import verify_submission
from services.ops.app.bootstrap import SERVICES
from tests.support.authority import encryption_key
from tests.support.factories import json_request, sha512, xdomea_sample
from tests.support.pipeline import auth, read_until, running, send_receipt, topic_reader

KOELN = "053150000000"
AUTHORITY = "jobcenter-koeln"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    return tmp_path


async def _wait_for_status(
    client: httpx.AsyncClient, submission_id: str, status: str, timeout: float = 60
) -> dict[str, object]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        answer = await client.get(f"/v1/submissions/{submission_id}", headers=auth())
        body: dict[str, object] = answer.json()
        if body.get("status") == status or asyncio.get_running_loop().time() > deadline:
            return body
        await asyncio.sleep(0.1)


async def test_submission_travels_to_its_authority_and_back(
    kafka: BrokerHandle, data_dir: Path
) -> None:
    document = xdomea_sample()
    body = json_request(document, routing={"ars": KOELN})
    async with (
        running(set(SERVICES), kafka.bootstrap_servers) as base,
        httpx.AsyncClient(base_url=base) as client,
        topic_reader(kafka.bootstrap_servers, topics.delivery_topic(AUTHORITY)) as reader,
    ):
        first = await client.post(
            "/v1/submissions", json=body, headers={**auth(), "Idempotency-Key": "e2e-1"}
        )
        assert first.status_code == 202, first.text
        submission_id = first.json()["submissionId"]
        assert first.headers["Location"] == f"/v1/submissions/{submission_id}"

        again = await client.post(
            "/v1/submissions", json=body, headers={**auth(), "Idempotency-Key": "e2e-1"}
        )
        assert again.status_code == 202
        assert again.json()["submissionId"] == submission_id

        other = json_request(document + b"\n", routing={"ars": KOELN})
        conflict = await client.post(
            "/v1/submissions", json=other, headers={**auth(), "Idempotency-Key": "e2e-1"}
        )
        assert conflict.status_code == 409
        assert conflict.headers["content-type"].startswith("application/problem+json")

        envelopes = await read_until(reader, 1)
        mine = [e for e in envelopes if e["submissionId"] == submission_id]
        assert len({e["deliveryId"] for e in mine}) == 1
        envelope = mine[0]
        assert envelope["authorityId"] == AUTHORITY
        assert envelope["encryption"]["kid"] == encryption_key()["kid"]  # never plaintext
        assert Decrypter(encryption_key()).decrypt(envelope["data"]["content"]) == document
        assert envelope["data"]["sha512"] == sha512(document)

        await send_receipt(
            kafka.bootstrap_servers,
            {
                "deliveryId": envelope["deliveryId"],
                "submissionId": submission_id,
                "authorityId": AUTHORITY,
                "outcome": "accepted",
                "reference": "AZ-2026-1",
            },
        )
        status = await _wait_for_status(client, submission_id, "accepted")
        assert status["status"] == "accepted"

        trail = (await client.get(f"/v1/submissions/{submission_id}/events", headers=auth())).json()
        assert [e["event"] for e in trail["events"]] == [
            "Received",
            "Validated",
            "Routed",
            "Dispatched",
            "Accepted",
        ]
        assert trail["totalCount"] == 5

        foreign = await client.get(f"/v1/submissions/{submission_id}", headers=auth("portal-b"))
        assert foreign.status_code == 404

    ledger = Ledger(LedgerSettings())
    try:
        await asyncio.sleep(0)  # the relay stopped with the pipeline
        problem = verify_submission(ledger, relay_store(ledger.settings), UUID(submission_id))
        assert problem is None
    finally:
        ledger.close()
