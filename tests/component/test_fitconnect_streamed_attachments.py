"""Attachments decrypted as they stream: large ones go through, tampered or oversized
ones leave nothing behind.

On submit each uploaded attachment JWE (sealed in the vault as received) is decrypted as it
streams into a new sealed blob. The blob counts only once the JWE's tag verified: a
tampered attachment, or one that inflates past the limit, is ``422 encryption-invalid``,
records nothing, and no blob beyond the uploaded JWEs remains.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from events.blobs.files import FileBlobStore
from events.ledger import Ledger
from events.vault import Vault
from services.fitconnect.destination_directory import directory_of
from services.fitconnect.destinations import destination_id
from services.fitconnect.http import mount_fit_connect
from services.fitconnect.submission_table import SubmissionTable
from services.intake.http import create_app
from tests.support.authority import HANNOVER
from tests.support.fitconnect import FakeTokens, access_token, ports
from tests.support.fitconnect_sending import (
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

LIMIT = 4 * 1024 * 1024
SUBMIT_PATH = "/v1/submissions/{submissionId}"
LARGE = os.urandom(LIMIT // 2) + b"Anlage " * (LIMIT // 16)  # ~3.75 MB, half compressible


@pytest.fixture
def app(ledger: Ledger, vault: Vault, tmp_path: Path) -> FastAPI:
    settings = intake_settings(port=0).model_copy(update={"max_attachment_bytes": LIMIT})
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
    return app


def _blobs(vault: Vault, submission_id: str) -> set[str]:
    store = vault.blobs
    assert isinstance(store, FileBlobStore)
    folder = store.path(f"{submission_id}/probe").parent
    return {path.name for path in folder.iterdir()} if folder.exists() else set()


def _metadata(attachment_id: str, content: bytes) -> dict[str, Any]:
    data = json.dumps(DATA).encode()
    return {
        "$schema": "https://schema.fitko.de/fit-connect/metadata/1.0.0/metadata.schema.json",
        "contentStructure": {
            "data": {
                "hash": {"type": "sha512", "content": hashlib.sha512(data).hexdigest()},
                "submissionSchema": {"schemaUri": DATA["$schema"], "mimeType": "application/json"},
            },
            "attachments": [
                {
                    "attachmentId": attachment_id,
                    "hash": {"type": "sha512", "content": hashlib.sha512(content).hexdigest()},
                    "mimeType": "application/pdf",
                    "purpose": "attachment",
                }
            ],
        },
    }


async def _send(
    base: str, vault: Vault, content: bytes, *, tamper: bool = False
) -> tuple[str, set[str], httpx.Response]:
    """Announce, upload ``content`` as one attachment JWE (its tag altered if ``tamper``),
    submit; the submission id, the blobs after the upload and the submit's answer."""
    destination = str(destination_id(HANNOVER))
    client = python_client(base)
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        token = await access_token(http, "portal-a", PORTAL_TOKENS["portal-a"])
        auth = {"Authorization": f"Bearer {token}"}
        created = await asyncio.to_thread(
            client.create_submission, destination, f"urn:de:fim:leika:leistung:{LEIKA}", 1
        )
        submission, (attachment,) = created["submissionId"], created["announcedAttachments"]
        encrypted = await asyncio.to_thread(client.encrypt, destination, content)
        if tamper:
            head, _, tag = encrypted.rpartition(".")
            encrypted = f"{head}.{'A' if tag[0] != 'A' else 'B'}{tag[1:]}"
        uploaded = await http.put(
            f"/fit-connect/v1/submissions/{submission}/attachments/{attachment}",
            headers=auth | {"Content-Type": "application/jose"},
            content=encrypted.encode(),
        )
        assert uploaded.status_code == 204, uploaded.text
        metadata = await asyncio.to_thread(
            client.encrypt, destination, _metadata(attachment, content)
        )
        data = await asyncio.to_thread(client.encrypt, destination, DATA)
        uploaded_blobs = _blobs(vault, submission)
        answer = await http.put(
            f"/fit-connect/v1/submissions/{submission}",
            headers=auth,
            json={"encryptedMetadata": metadata, "encryptedData": data},
        )
        return submission, uploaded_blobs, answer


async def test_a_large_attachment_streams_into_its_own_sealed_blob(
    app: FastAPI, ledger: Ledger, vault: Vault
) -> None:
    async with served(app) as base:
        submission, uploaded, answer = await _send(base, vault, LARGE)

    assert answer.status_code == 202, answer.text
    assert_answers_as_specified(answer, SUBMIT_PATH, "put")
    (received,) = ledger.trail(uuid.UUID(submission))
    (part,) = received.data["attachments"]
    assert part["sha512"] == hashlib.sha512(LARGE).hexdigest()
    assert part["size"] == len(LARGE)
    assert vault.read(uuid.UUID(submission), part["blob"]) == LARGE
    assert len(uploaded) == 1  # the JWE as received
    after = _blobs(vault, submission)
    assert uploaded < after
    assert f"{part['blob'].rpartition('/')[2]}" in after - uploaded


@pytest.mark.parametrize(
    ("content", "tamper"),
    [(LARGE, True), (b"\0" * (LIMIT + 1), False)],
    ids=["tampered-tag", "inflates-past-the-limit"],
)
async def test_a_tampered_or_oversized_attachment_records_nothing_and_keeps_no_blob(
    app: FastAPI, ledger: Ledger, vault: Vault, content: bytes, tamper: bool
) -> None:
    async with served(app) as base:
        submission, uploaded, answer = await _send(base, vault, content, tamper=tamper)

    assert answer.status_code == 422, answer.text
    assert answer.json()["type"].endswith("/fit-connect/encryption-invalid")
    assert_answers_as_specified(answer, SUBMIT_PATH, "put")
    expected = "tampered" if tamper else f"exceeds {LIMIT} bytes once inflated"
    assert expected in answer.json()["detail"]
    assert not ledger.exists(uuid.UUID(submission))
    assert _blobs(vault, submission) == uploaded  # only the JWE as received
