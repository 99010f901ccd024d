"""FITKO's client sends through the composed HTTP app, on SQLite and on PostgreSQL.

The composition root (``Wiring.http_app``) places the FIT-Connect tables beside the key
store: with a PostgreSQL ledger they are in its schema, and a submission goes through
announce, upload, submit and a key rotation as on SQLite.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

from events.settings import LedgerSettings
from events.vault import VaultSettings
from services.fitconnect.destinations import ROUTING_DESTINATION
from services.fitconnect.key_rotation import KeyRotation
from services.ops.app.bootstrap import Wiring
from services.ops.app.fitconnect_wiring import key_rotation
from services.ops.app.settings import Settings
from tests.support.fitconnect_sending import ATTACHMENT, DATA, python_client, served
from tests.support.pipeline import intake_settings


def _metadata() -> dict[str, Any]:
    """Metadata 1.0.0 for ``DATA`` and no attachment, as FITKO's client makes it."""
    digest = hashlib.sha512(json.dumps(DATA).encode()).hexdigest()
    return {
        "$schema": "https://schema.fitko.de/fit-connect/metadata/1.0.0/metadata.schema.json",
        "contentStructure": {
            "data": {
                "hash": {"type": "sha512", "content": digest},
                "submissionSchema": {"schemaUri": DATA["$schema"], "mimeType": "application/json"},
            },
            "attachments": [],
        },
        "additionalReferenceInfo": {"submissionDate": "2026-12-03"},
    }


async def test_a_submission_is_received_and_survives_a_rotation(
    ledger_settings: LedgerSettings, tmp_path: Path
) -> None:
    settings = dataclasses.replace(
        Settings.from_environment(),
        ledger=ledger_settings,
        vault=VaultSettings(data_dir=tmp_path),
        intake=intake_settings(port=0),
    )
    wiring = Wiring(settings)
    destination = str(ROUTING_DESTINATION)  # every service of the bundled catalog
    service = f"urn:de:fim:leika:leistung:{min(wiring.catalog().services)}"
    try:
        app = wiring.http_app()
        rotation: KeyRotation = key_rotation(settings, lambda: wiring.vault.keys.kek)
        async with served(app) as base:
            client = python_client(base)
            first = await asyncio.to_thread(
                client.submission, destination, service, data=DATA, attachments=[ATTACHMENT]
            )
            created = await asyncio.to_thread(client.create_submission, destination, service, 0)
            metadata = await asyncio.to_thread(client.encrypt, destination, _metadata())
            data = await asyncio.to_thread(client.encrypt, destination, DATA)
            await asyncio.to_thread(rotation.rotate, uuid.UUID(destination))
            second = await asyncio.to_thread(
                client.submit_submission,
                destination,
                created["submissionId"],
                metadata_encrypted=metadata,
                data_encrypted=data,
            )
        ledger = wiring.ledger
        assert [e.event for e in ledger.trail(uuid.UUID(first["submissionId"]))] == ["Received"]
        assert "submissionId" in second, second
        assert second["submissionId"] == created["submissionId"]
        assert [e.event for e in ledger.trail(uuid.UUID(second["submissionId"]))] == ["Received"]
        states = rotation.states(uuid.UUID(destination))
        assert [s.key.generation for s in states] == [2, 1]
    finally:
        wiring.close()
