"""FITKO's Python client (PyPI ``fitconnect``), unmodified, sends a submission to Amtsweg.

The app (intake plus FIT-Connect API) is served by uvicorn on a free port; the client is
pointed at it by its own attributes (``token_url``, ``submission_api_url``) and runs its
whole ``submission`` flow: token, destination and key, announce, one attachment (JWE,
``zip: DEF``, ``kid`` = thumbprint), submit. Amtsweg must have recorded ``Received``
under the FIT-Connect submission id with the SHA-512 of data and attachment.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fitconnect.fitconnect import PROBLEM_PREFIX  # type: ignore[import-untyped]

from events.ledger import Ledger
from events.vault import Vault
from services.fitconnect.destination_directory import (
    directory_of,
)
from services.fitconnect.destinations import destination_id
from services.fitconnect.http import mount_fit_connect
from services.fitconnect.submission_table import SubmissionTable
from services.intake.http import create_app
from tests.support.authority import HANNOVER
from tests.support.fitconnect import FakeTokens, assert_fit_connect_problem, ports
from tests.support.fitconnect_sending import (
    ATTACHMENT,
    DATA,
    EVERY,
    LEIKA,
    SERVICES,
    destination_keys,
    python_client,
    sending_ports,
    served,
)
from tests.support.pipeline import PORTAL_TOKENS, intake_settings


@pytest.fixture
def app(ledger: Ledger, vault: Vault, tmp_path: Path) -> FastAPI:
    settings = intake_settings(port=0)
    app = create_app(ledger, vault, settings)
    keys = destination_keys(tmp_path)
    table = SubmissionTable.sqlite(tmp_path / "fit-connect.sqlite3")
    sending = sending_ports(ledger, vault, table, settings)
    fit_ports = ports(
        FakeTokens(),
        destinations=directory_of(SERVICES, EVERY),
        keys=lambda: keys,
        sending=sending,
    )
    mount_fit_connect(app, fit_ports)
    return app


async def test_the_python_client_sends_a_submission_that_amtsweg_records_received(
    app: FastAPI, ledger: Ledger
) -> None:
    destination = str(destination_id(HANNOVER))
    async with served(app) as base:
        client = python_client(base)
        answer = await asyncio.to_thread(
            client.submission,
            destination,
            f"urn:de:fim:leika:leistung:{LEIKA}",
            data=DATA,
            attachments=[ATTACHMENT],
        )
        again = await asyncio.to_thread(
            client.submit_submission,
            destination,
            answer["submissionId"],
            metadata={"contentStructure": {}},
            data={"other": "content"},
        )

    assert answer["destinationId"] == destination
    assert again == answer  # the second submit: the first one's answer
    submission_id = uuid.UUID(answer["submissionId"])
    trail = ledger.trail(submission_id)
    assert [event.event for event in trail] == ["Received"]
    received = trail[0].data
    assert received["portal_id"] == "portal-a"
    assert received["leika_key"] == LEIKA
    data_bytes = json.dumps(DATA).encode()
    assert received["data"]["sha512"] == hashlib.sha512(data_bytes).hexdigest()
    assert [a["sha512"] for a in received["attachments"]] == [
        hashlib.sha512(ATTACHMENT).hexdigest()
    ]


async def test_bad_input_answers_the_specs_problem_and_records_nothing(
    app: FastAPI, ledger: Ledger
) -> None:
    destination = str(destination_id(HANNOVER))
    async with served(app) as base, httpx.AsyncClient(base_url=base) as http:
        client = python_client(base)
        token = await asyncio.to_thread(
            client._get_access_token, "portal-a", PORTAL_TOKENS["portal-a"]
        )
        auth = {"Authorization": f"Bearer {token}"}
        unknown = await http.post(
            "/fit-connect/v1/submissions",
            headers=auth,
            json={
                "destinationId": str(uuid.uuid4()),
                "announcedAttachments": [],
                "serviceType": {"name": "x", "identifier": f"urn:de:fim:leika:leistung:{LEIKA}"},
            },
        )
        created = await asyncio.to_thread(
            client.create_submission, destination, f"urn:de:fim:leika:leistung:{LEIKA}", 1
        )
        submission = created["submissionId"]
        metadata = await asyncio.to_thread(client.encrypt, destination, {"contentStructure": {}})
        data = await asyncio.to_thread(client.encrypt, destination, DATA)
        early = await http.put(
            f"/fit-connect/v1/submissions/{submission}",
            headers=auth,
            json={"encryptedMetadata": metadata, "encryptedData": data},
        )
        not_announced = await http.put(
            f"/fit-connect/v1/submissions/{submission}/attachments/{uuid.uuid4()}",
            headers=auth | {"Content-Type": "application/jose"},
            content=data,
        )
        parts = data.split(".")
        parts[3] = ("B" if parts[3][0] != "B" else "C") + parts[3][1:]
        await http.put(
            f"/fit-connect/v1/submissions/{submission}/attachments/{created['announcedAttachments'][0]}",
            headers=auth | {"Content-Type": "application/jose"},
            content=data,
        )
        tampered = await http.put(
            f"/fit-connect/v1/submissions/{submission}",
            headers=auth,
            json={"encryptedMetadata": metadata, "encryptedData": ".".join(parts)},
        )

    assert unknown.status_code == 404
    assert unknown.json()["type"] == PROBLEM_PREFIX + "destination-not-found"  # the client's
    assert_fit_connect_problem(early, 422, "missing-attachments")
    assert_fit_connect_problem(not_announced, 422, "attachment-not-announced")
    assert_fit_connect_problem(tampered, 422, "encryption-invalid")
    assert not ledger.exists(uuid.UUID(submission))
