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
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fitconnect.fitconnect import PROBLEM_PREFIX  # type: ignore[import-untyped]
from jsonschema import Draft202012Validator

from contracts.fit_connect import metadata_schema
from events.ledger import Ledger
from events.vault import Vault
from services.fitconnect.destination_directory import (
    directory_of,
)
from services.fitconnect.destinations import ROUTING_DESTINATION, destination_id
from services.fitconnect.http import mount_fit_connect
from services.fitconnect.problems import fit_connect_problem_type
from services.fitconnect.submission_table import SubmissionTable
from services.intake.http import create_app
from tests.support.authority import HANNOVER
from tests.support.fitconnect import FakeTokens, assert_fit_connect_problem, ports
from tests.support.fitconnect_sending import (
    ATTACHMENT,
    DATA,
    EVERY,
    LEIKA,
    SCHEMA,
    SERVICES,
    destination_keys,
    python_client,
    sending_ports,
    served,
)
from tests.support.fitconnect_spec import assert_answers_as_specified
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


async def test_the_clients_repeated_attachment_id_is_refused_at_announce(
    app: FastAPI, ledger: Ledger
) -> None:
    """``create_submission`` announces ``[str(uuid.uuid4())] * n``: one id n times. Amtsweg
    refuses that announce (400) instead of letting the second upload overwrite the first
    under the same id and the submit fail on the metadata's hash."""
    destination = str(destination_id(HANNOVER))
    async with served(app) as base:
        client = python_client(base)
        with pytest.raises(ValueError, match="Could not create submission") as refused:
            await asyncio.to_thread(
                client.submission,
                destination,
                f"urn:de:fim:leika:leistung:{LEIKA}",
                data=DATA,
                attachments=[ATTACHMENT, ATTACHMENT + b"2"],
            )

    problem = json.loads(refused.value.args[1])
    assert problem["status"] == 400
    assert problem["type"] == fit_connect_problem_type("attachment-ids-not-unique")
    assert not list(ledger.submission_ids())


async def test_announcing_more_attachments_than_the_intake_takes_is_413(
    app: FastAPI, ledger: Ledger
) -> None:
    limit = intake_settings(port=0).max_attachments
    async with served(app) as base, httpx.AsyncClient(base_url=base) as http:
        client = python_client(base)
        token = await asyncio.to_thread(
            client._get_access_token, "portal-a", PORTAL_TOKENS["portal-a"]
        )

        async def announce(count: int) -> httpx.Response:
            return await http.post(
                "/fit-connect/v1/submissions",
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "destinationId": str(destination_id(HANNOVER)),
                    "announcedAttachments": [str(uuid.uuid4()) for _ in range(count)],
                    "serviceType": {
                        "name": "x",
                        "identifier": f"urn:de:fim:leika:leistung:{LEIKA}",
                    },
                },
            )

        over, at = await announce(limit + 1), await announce(limit)

    assert_fit_connect_problem(over, 413, "too-large")
    assert str(limit) in over.json()["detail"]
    assert_answers_as_specified(over, "/v1/submissions", "post")
    assert at.status_code == 201
    assert_answers_as_specified(at, "/v1/submissions", "post")


def _metadata(version: str, attachment_id: str) -> dict[str, Any]:
    """A metadata document of FIT-Connect ``version`` without ``publicServiceType`` (2.x
    has none): the LeiKa key must come from the announce's ``serviceType``."""
    data_hash = hashlib.sha512(json.dumps(DATA).encode()).hexdigest()
    document: dict[str, Any] = {
        "$schema": f"https://schema.fitko.de/fit-connect/metadata/{version}/metadata.schema.json",
        "contentStructure": {
            "data": {
                "hash": {"type": "sha512", "content": data_hash},
                "submissionSchema": {"schemaUri": SCHEMA.schema_uri, "mimeType": SCHEMA.mime_type},
            },
            "attachments": [
                {
                    "attachmentId": attachment_id,
                    "hash": {"type": "sha512", "content": hashlib.sha512(ATTACHMENT).hexdigest()},
                    "purpose": "attachment",
                    "mimeType": "application/pdf",
                    "filename": "nachweis.pdf",
                }
            ],
        },
        "replyChannel": {"eMail": {"address": "erika.mustermann@example.org"}},
        "additionalReferenceInfo": {
            "senderReference": "AZ-2026-0815",
            "applicationDate": "2026-12-01",
        },
    }
    if version.startswith("2."):
        document["additionalReferenceInfo"]["zustimmungZumDigitalenBescheid"] = True
        document["author"] = {
            "name": "Musterportal",
            "product": {"name": "Antragsportal", "version": "3.2.1", "manufacturer": "Muster GmbH"},
        }
    return document


@pytest.mark.parametrize("version", ["1.0.0", "2.1.0"])
async def test_metadata_1_and_2_are_received_with_the_announced_leika_key(
    app: FastAPI, ledger: Ledger, version: str
) -> None:
    destination = str(destination_id(HANNOVER))
    service = f"urn:de:fim:leika:leistung:{LEIKA}"
    async with served(app) as base:
        client = python_client(base)
        created = await asyncio.to_thread(client.create_submission, destination, service, 1)
        submission = created["submissionId"]
        (attachment,) = created["announcedAttachments"]
        await asyncio.to_thread(
            client.upload_attachment, destination, submission, attachment, attachment=ATTACHMENT
        )
        metadata = _metadata(version, attachment)
        answer = await asyncio.to_thread(
            client.submit_submission, destination, submission, metadata=metadata, data=DATA
        )

    assert answer["submissionId"] == submission, answer
    Draft202012Validator(metadata_schema(int(version[0]))).validate(metadata)  # a real one
    (received,) = ledger.trail(uuid.UUID(submission))
    assert received.event == "Received"
    assert received.data["leika_key"] == LEIKA
    assert [a["sha512"] for a in received.data["attachments"]] == [
        hashlib.sha512(ATTACHMENT).hexdigest()
    ]


async def test_metadata_2_is_checked_with_its_own_schema(app: FastAPI, ledger: Ledger) -> None:
    """2.1.0 forbids what 1.0.0 allows (``additionalReferenceInfo`` has no extra members):
    a 2.x document is checked with 2.1.0, refused, and nothing is recorded."""
    destination = str(destination_id(HANNOVER))
    service = f"urn:de:fim:leika:leistung:{LEIKA}"
    async with served(app) as base:
        client = python_client(base)
        created = await asyncio.to_thread(client.create_submission, destination, service, 1)
        submission = created["submissionId"]
        (attachment,) = created["announcedAttachments"]
        await asyncio.to_thread(
            client.upload_attachment, destination, submission, attachment, attachment=ATTACHMENT
        )
        metadata = _metadata("2.1.0", attachment)
        metadata["additionalReferenceInfo"]["submissionDate"] = "2026-12-01"  # a 1.0.0 habit
        refused = await asyncio.to_thread(
            client.submit_submission, destination, submission, metadata=metadata, data=DATA
        )

    assert refused["status"] == 422, refused
    assert refused["type"] == fit_connect_problem_type("submission-refused")
    assert not ledger.exists(uuid.UUID(submission))


async def test_bad_submits_answer_the_specs_problems_and_change_nothing(
    app: FastAPI, ledger: Ledger
) -> None:
    """Wrong key, truncated JWE, tampered attachment, hash mismatch: each a problem as the
    spec allows for the operation, nothing recorded; then the good submit still goes through."""
    destination = str(destination_id(HANNOVER))
    async with served(app) as base, httpx.AsyncClient(base_url=base) as http:
        client = python_client(base)
        token = await asyncio.to_thread(
            client._get_access_token, "portal-a", PORTAL_TOKENS["portal-a"]
        )
        auth = {"Authorization": f"Bearer {token}"}
        created = await asyncio.to_thread(
            client.create_submission, destination, f"urn:de:fim:leika:leistung:{LEIKA}", 1
        )
        submission = created["submissionId"]
        (attachment,) = created["announcedAttachments"]
        path = f"/fit-connect/v1/submissions/{submission}"
        upload = f"{path}/attachments/{attachment}"
        jose = auth | {"Content-Type": "application/jose"}

        def encrypt(to: str, content: Any) -> Any:
            return asyncio.to_thread(client.encrypt, to, content)

        metadata = await encrypt(destination, _metadata("1.0.0", attachment))
        data = await encrypt(destination, DATA)
        good_attachment = await encrypt(destination, ATTACHMENT)
        other_key = await encrypt(str(ROUTING_DESTINATION), DATA)
        wrong_hash = _metadata("1.0.0", attachment)
        wrong_hash["contentStructure"]["data"]["hash"]["content"] = "0" * 128
        mismatch = await encrypt(destination, wrong_hash)

        async def submit(encrypted_metadata: str, encrypted_data: str) -> httpx.Response:
            body = {"encryptedMetadata": encrypted_metadata, "encryptedData": encrypted_data}
            return await http.put(path, headers=auth, json=body)

        not_jwe = await http.put(upload, headers=jose, content=b"not a JWE!")
        await http.put(upload, headers=jose, content=good_attachment)
        answers = {
            "wrong key": await submit(metadata, other_key),
            "truncated": await submit(metadata, data[: len(data) // 2]),
            "hash mismatch": await submit(mismatch, data),
        }
        tampered = good_attachment[:-30] + ("A" if good_attachment[-30] != "A" else "B")
        tampered += good_attachment[-29:]
        await http.put(upload, headers=jose, content=tampered)
        answers["tampered attachment"] = await submit(metadata, data)
        untouched = ledger.exists(uuid.UUID(submission))
        await http.put(upload, headers=jose, content=good_attachment)
        good = await submit(metadata, data)

    assert_fit_connect_problem(not_jwe, 400, "bad-request")
    assert_answers_as_specified(
        not_jwe, "/v1/submissions/{submissionId}/attachments/{attachmentId}", "put"
    )
    for name, slug in [
        ("wrong key", "encryption-invalid"),
        ("truncated", "encryption-invalid"),
        ("tampered attachment", "encryption-invalid"),
        ("hash mismatch", "submission-refused"),
    ]:
        assert_fit_connect_problem(answers[name], 422, slug)
        assert_answers_as_specified(answers[name], "/v1/submissions/{submissionId}", "put")
    assert not untouched
    assert good.status_code == 202, good.text
    assert [e.event for e in ledger.trail(uuid.UUID(submission))] == ["Received"]
