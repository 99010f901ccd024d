"""The delivery of an authority that picks up over FIT-Connect: its pickup document.

Pure apart from ``read`` (the submission's sealed parts): the metadata as the sender sent
it (its SHA-512 hashes name the original bytes, which is what the authority decrypts) and
the data become JWEs to the authority's key; each attachment gets the key material of
the JWE the FIT-Connect API makes while it streams it (:mod:`contracts.pickup`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import rsa

from contracts.pickup import PickupAttachment, PickupDocument, attachment_key_material
from events.case import Supplement
from events.dossier import Dossier
from events.submission import Submission
from services.delivery.crypto import JweSealer


def pickup_document(
    submission: Submission,
    dossier: Dossier,
    delivery_id: str,
    read: Callable[[str], bytes],
    sealer: JweSealer,
) -> PickupDocument:
    """The document the authority's FIT-Connect client fetches."""
    assert submission.authority_id is not None
    public_key = sealer.public_key
    assert isinstance(public_key, rsa.RSAPublicKey)
    attachments = []
    for declared, sealed in dossier.parts(submission)[1:]:
        protected, encrypted_key, iv, cek = attachment_key_material(
            public_key, sealer.kid, declared.mime_type
        )
        attachments.append(
            PickupAttachment(
                attachment_id=declared.part_id,
                mime_type=declared.mime_type,
                size=sealed["size"],
                sha512=sealed["sha512"],
                blob=sealed["blob"],
                protected=protected,
                encrypted_key=encrypted_key,
                iv=iv,
                cek=cek,
            )
        )
    metadata = json.dumps(dossier.metadata, ensure_ascii=False).encode()
    return PickupDocument(
        delivery_id=delivery_id,
        submission_id=str(submission.id),
        authority_id=submission.authority_id,
        kid=sealer.kid,
        service_type=_service_type(submission, dossier),
        encrypted_metadata=sealer.seal(metadata, "application/json"),
        encrypted_data=sealer.seal(read(submission.data["blob"]), dossier.data.mime_type),
        attachments=tuple(attachments),
    )


METADATA_SCHEMA: Final = "https://schema.fitko.de/fit-connect/metadata/1.0.0/metadata.schema.json"


def pickup_attachment_id(delivery_id: str, part_id: str) -> str:
    """A document's FIT-Connect ``attachmentId`` (a UUID): its own id if it is one, else
    one derived from the follow-up delivery and its id (stable, so a replay agrees)."""
    try:
        return str(uuid.UUID(part_id))
    except ValueError:
        return str(uuid.uuid5(uuid.UUID(delivery_id), f"attachment:{part_id}"))


def follow_up_pickup_document(
    submission: Submission,
    supplement: Supplement,
    declared: Mapping[str, Mapping[str, Any]],
    delivery_id: str,
    sealer: JweSealer,
) -> PickupDocument:
    """A follow-up delivery picked up over FIT-Connect: a new submission within the case.

    No data; the metadata (1.0.0) lists the documents in ``contentStructure`` (hash,
    purpose ``attachment``, media type, id, file name), encrypted to the authority's key;
    ``declared`` is the portal's attachmentId -> ``{"mimeType", "filename"}``.
    """
    assert submission.authority_id is not None
    public_key = sealer.public_key
    assert isinstance(public_key, rsa.RSAPublicKey)
    attachments, listed = [], []
    for part in supplement.parts:
        part_id = str(part["partId"])
        said = declared.get(part_id, {})
        mime_type = str(said.get("mimeType") or "application/octet-stream")
        attachment_id = pickup_attachment_id(delivery_id, part_id)
        protected, encrypted_key, iv, cek = attachment_key_material(
            public_key, sealer.kid, mime_type
        )
        attachments.append(
            PickupAttachment(
                attachment_id=attachment_id,
                mime_type=mime_type,
                size=int(str(part["size"])),
                sha512=str(part["sha512"]),
                blob=str(part["blob"]),
                protected=protected,
                encrypted_key=encrypted_key,
                iv=iv,
                cek=cek,
            )
        )
        entry: dict[str, Any] = {
            "hash": {"type": "sha512", "content": str(part["sha512"]).lower()},
            "purpose": "attachment",
            "mimeType": mime_type,
            "attachmentId": attachment_id,
        }
        if said.get("filename"):
            entry["filename"] = str(said["filename"])
        listed.append(entry)
    metadata = {"$schema": METADATA_SCHEMA, "contentStructure": {"attachments": listed}}
    return PickupDocument(
        delivery_id=delivery_id,
        submission_id=str(submission.id),
        authority_id=submission.authority_id,
        kid=sealer.kid,
        service_type={"identifier": submission.service_identifier},
        encrypted_metadata=sealer.seal(
            json.dumps(metadata, ensure_ascii=False).encode(), "application/json"
        ),
        attachments=tuple(attachments),
        supplement_id=supplement.supplement_id,
    )


def _service_type(submission: Submission, dossier: Dossier) -> dict[str, str]:
    """FIT-Connect's ``ServiceType`` from the metadata's ``publicServiceType``, if it has one."""
    declared = dossier.metadata.get("publicServiceType")
    service = {"identifier": submission.service_identifier}
    if isinstance(declared, dict) and isinstance(declared.get("name"), str) and declared["name"]:
        service["name"] = declared["name"]
    return service
