"""Builders for test submissions (no personal data; values are synthetic)."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any
from uuid import UUID

from contracts.assurance import EIDAS_SUBSTANTIAL, identification_report
from events.chain_keys import ChainKeys
from events.dossier import DeclaredPart, Dossier
from events.submission import Submission
from events.vault import SealedPart, Vault

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
XDOMEA_SAMPLES = DATA_DIR / "xoev" / "xdomea-3.0.0"
XDOMEA_URI = "urn:xoev-de:xdomea:schema:3.0.0"
UNKEYED = ChainKeys()
BUERGERGELD = "99900000000101"
"""The LeiKa key the seed directory routes to Jobcenters (see services/routing/data)."""


def sha512(content: bytes) -> str:
    return hashlib.sha512(content).hexdigest()


def received_fields(**overrides: Any) -> dict[str, Any]:
    """A Received event's fields (vault references that name nothing stored)."""
    blob = f"{uuid.uuid4()}/{uuid.uuid4().hex}"
    fields: dict[str, Any] = {
        "portal_id": "portal-a",
        "service_identifier": f"urn:de:fim:leika:leistung:{BUERGERGELD}",
        "leika_key": BUERGERGELD,
        "dossier": blob,
        "data": {"blob": blob, "sha512": "a" * 128, "size": 1},
        "attachments": [],
        "request_digest": "d" * 64,
        "correlation_id": "c",
    }
    fields.update(overrides)
    return fields


def new_submission(
    submission_id: UUID | None = None, *, chain: ChainKeys = UNKEYED, **overrides: Any
) -> Submission:
    return Submission.receive(
        submission_id or uuid.uuid4(), chain=chain, **received_fields(**overrides)
    )


def sealed_submission(
    vault: Vault,
    data: bytes,
    *,
    attachments: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
    metadata: dict[str, Any] | None = None,
    routing: dict[str, Any] | None = None,
    schema_uri: str = XDOMEA_URI,
    submission_id: UUID | None = None,
    chain: ChainKeys = UNKEYED,
    **overrides: Any,
) -> Submission:
    """A Received submission whose parts and dossier are sealed in ``vault`` (not saved)."""
    submission_id = submission_id or uuid.uuid4()
    metadata = metadata or metadata_for(data, schema_uri=schema_uri, attachments=attachments)
    declared = {a["attachmentId"]: a for a in metadata["contentStructure"]["attachments"]}
    ordered = sorted(attachments)
    dossier = Dossier(
        metadata=metadata,
        routing=routing,
        data=DeclaredPart("data", "application/xml", schema_uri=schema_uri),
        attachments=tuple(
            DeclaredPart(
                attachment_id,
                declared.get(attachment_id, {}).get("mimeType", "application/pdf"),
                declared.get(attachment_id, {}).get("filename"),
            )
            for attachment_id, _ in ordered
        ),
    )
    return new_submission(
        submission_id,
        chain=chain,
        dossier=vault.put_document(submission_id, dossier.document()).blob,
        data=_sealed(vault.put(submission_id, data)),
        attachments=[_sealed(vault.put(submission_id, content)) for _, content in ordered],
        **overrides,
    )


def _sealed(part: SealedPart) -> dict[str, Any]:
    return {"blob": part.blob, "sha512": part.sha512, "size": part.size}


def routed_submission(authority: str = "jc-koeln", *, competence: str | None = None) -> Submission:
    """A new submission, validated and routed to ``authority`` (Köln), nothing saved."""
    submission = new_submission()
    submission.validate("cat-1", "urn:x")
    submission.route(authority, "053150000000", "05315", "dir-1", competence=competence)
    return submission


def dispatched_submission(
    authority: str = "jc-koeln",
    delivery: str = "d-1",
    *,
    envelope: dict[str, Any] | None = None,
    competence: str | None = None,
) -> Submission:
    """A routed submission whose delivery ``delivery`` is on ``authority``'s topic."""
    submission = routed_submission(authority, competence=competence)
    topic = f"amtsweg.delivery.{authority}"
    submission.dispatch(delivery, authority, topic, envelope or {"deliveryId": delivery})
    return submission


def metadata_for(
    data: bytes,
    *,
    leika: str = BUERGERGELD,
    schema_uri: str = XDOMEA_URI,
    attachments: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
    assurance: str | None = EIDAS_SUBSTANTIAL,
) -> dict[str, Any]:
    """FIT-Connect 1.0.0 metadata declaring ``data`` and ``attachments`` (id, bytes).

    The applicant is identified at ``assurance`` (a level URI; what the bundled
    Sozialplattform services require), by an unsigned identification report; ``None``:
    no ``authenticationInformation``.
    """
    metadata = {
        "publicServiceType": {"identifier": f"urn:de:fim:leika:leistung:{leika}"},
        "contentStructure": {
            "data": {
                "hash": {"type": "sha512", "content": sha512(data)},
                "submissionSchema": {"schemaUri": schema_uri, "mimeType": "application/xml"},
            },
            "attachments": [
                {
                    "attachmentId": attachment_id,
                    "hash": {"type": "sha512", "content": sha512(content)},
                    "purpose": "attachment",
                    "mimeType": "application/pdf",
                    "filename": f"{attachment_id}.pdf",
                }
                for attachment_id, content in attachments
            ],
        },
    }
    if assurance is not None:
        metadata["authenticationInformation"] = [identification_report(assurance)]
    return metadata


def json_request(
    data: bytes,
    *,
    routing: dict[str, str] | None = None,
    attachments: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
    **metadata_options: Any,
) -> dict[str, Any]:
    """A JSON-form submission request body."""
    body: dict[str, Any] = {
        "metadata": metadata_for(data, attachments=attachments, **metadata_options),
        "data": base64.b64encode(data).decode(),
        "attachments": [
            {"attachmentId": a, "content": base64.b64encode(c).decode()} for a, c in attachments
        ],
    }
    if routing is not None:
        body["routing"] = routing
    return body


def xdomea_sample(name: str = "xx_Aussonderung.Aussonderung.0503.xml") -> bytes:
    return (XDOMEA_SAMPLES / name).read_bytes()


def dumps(value: Any) -> str:
    return json.dumps(value)


TEST_CHAIN_KEYS = {"test-1": "a test chain key of at least thirty-two bytes"}
"""Chain keys for processes a test starts outside development mode, which require them."""
CHAIN_KEYS_ENV = {"AMTSWEG_LEDGER_CHAIN_KEYS": json.dumps(TEST_CHAIN_KEYS)}
