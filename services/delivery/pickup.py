"""The delivery of an authority that picks up over FIT-Connect: its pickup document.

Pure apart from ``read`` (the submission's sealed parts): the metadata as the sender sent
it (its SHA-512 hashes name the original bytes, which is what the authority decrypts) and
the data become JWEs to the authority's key; each attachment gets the key material of
the JWE the FIT-Connect API makes while it streams it (:mod:`contracts.pickup`).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import rsa

from contracts.pickup import PickupAttachment, PickupDocument, attachment_key_material
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


def _service_type(submission: Submission, dossier: Dossier) -> dict[str, str]:
    """FIT-Connect's ``ServiceType`` from the metadata's ``publicServiceType``, if it has one."""
    declared = dossier.metadata.get("publicServiceType")
    service = {"identifier": submission.service_identifier}
    if isinstance(declared, dict) and isinstance(declared.get("name"), str) and declared["name"]:
        service["name"] = declared["name"]
    return service
