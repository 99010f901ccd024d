"""A destination's key rotated while a submission is in flight: nothing is lost.

FITKO's client announces and encrypts to the published key; the key is rotated; the
submit still decrypts and records ``Received``. New submissions get the new key. Once the
old key is retired, it is no longer served and a JWE encrypted to it is refused.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from events.ledger import Ledger
from events.vault import Vault
from services.fitconnect.destination_directory import directory_of
from services.fitconnect.destination_keys import DestinationKeys
from services.fitconnect.destinations import destination_id
from services.fitconnect.http import mount_fit_connect
from services.fitconnect.key_rotation import GRACE, KeyRotation, RetirementRefusedError
from services.fitconnect.submission_table import SubmissionTable
from services.intake.http import create_app
from tests.support.authority import HANNOVER
from tests.support.fitconnect import FakeTokens, access_token, ports
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
from tests.support.fitconnect_spec import assert_answers_as_specified
from tests.support.pipeline import PORTAL_TOKENS, intake_settings

DESTINATION = destination_id(HANNOVER)
SERVICE = f"urn:de:fim:leika:leistung:{LEIKA}"


@pytest.fixture
def sending(
    ledger: Ledger, vault: Vault, tmp_path: Path
) -> tuple[FastAPI, DestinationKeys, KeyRotation]:
    settings = intake_settings(port=0)
    app = create_app(ledger, vault, settings)
    keys = destination_keys(tmp_path)
    table = SubmissionTable.sqlite(tmp_path / "fit-connect.sqlite3")
    fit_ports = ports(
        FakeTokens(),
        destinations=directory_of(SERVICES, EVERY),
        keys=lambda: keys,
        sending=sending_ports(ledger, vault, table, settings),
    )
    mount_fit_connect(app, fit_ports)
    return app, keys, KeyRotation(keys, table, clock=lambda: datetime.now(UTC) + GRACE * 2)


def _kid(compact: str) -> str:
    header = compact.split(".", maxsplit=1)[0]
    kid: str = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
    return kid


def _metadata(attachment_id: str) -> dict[str, Any]:
    def sha512(content: bytes) -> dict[str, str]:
        return {"type": "sha512", "content": hashlib.sha512(content).hexdigest()}

    return {
        "contentStructure": {
            "data": {
                "hash": sha512(json.dumps(DATA).encode()),
                "submissionSchema": {"schemaUri": DATA["$schema"], "mimeType": "application/json"},
            },
            "attachments": [
                {
                    "attachmentId": attachment_id,
                    "hash": sha512(ATTACHMENT),
                    "mimeType": "application/pdf",
                    "purpose": "attachment",
                }
            ],
        }
    }


async def test_a_submission_encrypted_to_the_old_key_is_recorded_after_a_rotation(
    sending: tuple[FastAPI, DestinationKeys, KeyRotation], ledger: Ledger
) -> None:
    app, keys, rotation = sending
    destination = str(DESTINATION)
    async with served(app) as base, httpx.AsyncClient(base_url=base) as http:
        client = python_client(base)
        created = await asyncio.to_thread(client.create_submission, destination, SERVICE, 1)
        submission, (attachment,) = created["submissionId"], created["announcedAttachments"]
        old = await asyncio.to_thread(keys.published, DESTINATION)
        encrypted = {
            name: await asyncio.to_thread(client.encrypt, destination, content)
            for name, content in (
                ("attachment", ATTACHMENT),
                ("metadata", _metadata(attachment)),
                ("data", DATA),
            )
        }
        assert {_kid(jwe) for jwe in encrypted.values()} == {old.thumbprint}
        await asyncio.to_thread(
            client.upload_attachment,
            destination,
            submission,
            attachment,
            attachment_encrypted=encrypted["attachment"],
        )
        new = await asyncio.to_thread(rotation.rotate, DESTINATION)
        token = await access_token(http, "portal-a", PORTAL_TOKENS["portal-a"])
        auth = {"Authorization": f"Bearer {token}"}
        with pytest.raises(RetirementRefusedError, match="not submitted yet"):
            await asyncio.to_thread(rotation.retire, DESTINATION, old.kid)
        submitted = await http.put(
            f"/fit-connect/v1/submissions/{submission}",
            headers=auth,
            json={"encryptedMetadata": encrypted["metadata"], "encryptedData": encrypted["data"]},
        )
        published = await http.get(f"/fit-connect/v1/destinations/{destination}", headers=auth)
        after = await asyncio.to_thread(client.encrypt, destination, DATA)
        fresh = await asyncio.to_thread(
            client.submission, destination, SERVICE, data=DATA, attachments=[ATTACHMENT]
        )
        # the old key, once nothing in flight needs it: retired, not served, not decrypting
        retired = await asyncio.to_thread(rotation.retire, DESTINATION, old.kid)
        late = await asyncio.to_thread(client.create_submission, destination, SERVICE, 0)
        old_key = await http.get(f"/fit-connect/v1/destinations/{destination}/keys/{old.kid}")
        new_key = await http.get(f"/fit-connect/v1/destinations/{destination}/keys/{new.kid}")
        refused = await http.put(
            f"/fit-connect/v1/submissions/{late['submissionId']}",
            headers=auth,
            json={"encryptedMetadata": encrypted["metadata"], "encryptedData": encrypted["data"]},
        )

    assert submitted.status_code == 202, submitted.text
    assert [e.event for e in ledger.trail(uuid.UUID(submission))] == ["Received"]
    assert published.json()["encryptionKid"] == new.kid != old.kid
    assert _kid(after) == new.thumbprint
    assert [e.event for e in ledger.trail(uuid.UUID(fresh["submissionId"]))] == ["Received"]
    assert retired.retired is True
    assert old_key.status_code == 404
    assert_answers_as_specified(old_key, "/v1/destinations/{destinationId}/keys/{keyId}")
    assert new_key.status_code == 200
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/fit-connect/encryption-invalid")
    assert not ledger.exists(uuid.UUID(late["submissionId"]))
