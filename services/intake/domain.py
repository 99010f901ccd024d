"""Pure decisions of the intake: ids, request digests, hash checks."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4, uuid5

from contracts.problems import Problem
from contracts.submission import Metadata, RoutingHint
from events.dossier import DeclaredPart, Dossier

IDEMPOTENCY_NAMESPACE = UUID("6f2b4c5e-2f57-4d7e-9a49-5b8f1f0f4a11")


@dataclass(frozen=True)
class Part:
    """A part of a submission (data or attachment): its plaintext hash and size.

    ``blob`` names it sealed in the vault; ``None`` when it was only hashed (a retry of
    a submission recorded before needs no second copy).
    """

    sha512: str
    size: int
    blob: str | None = None


@dataclass(frozen=True)
class IncomingSubmission:
    """A portal's submission after its parts were sealed, before it is recorded."""

    submission_id: UUID
    metadata: Metadata
    metadata_document: dict[str, Any]
    data: Part
    attachments: Mapping[str, Part]
    """attachmentId -> stored part"""
    routing: RoutingHint | None
    dossier: str | None = None
    """The sealed dossier's blob (written once the parts are)."""

    def written(self) -> list[str]:
        """Every blob this request wrote (to discard when it is refused or was a retry)."""
        parts = [self.data, *self.attachments.values()]
        names = [part.blob for part in parts if part.blob is not None]
        return names + ([self.dossier] if self.dossier is not None else [])

    def dossier_of(self) -> Dossier:
        """What the portal said about the submission, to be sealed beside its parts."""
        structure = self.metadata.content_structure
        declared = {a.attachment_id: a for a in structure.attachments}
        return Dossier(
            metadata=self.metadata_document,
            routing=self.routing.model_dump(exclude_none=True) if self.routing else None,
            data=DeclaredPart(
                "data",
                structure.data.submission_schema.mime_type,
                schema_uri=structure.data.submission_schema.schema_uri,
            ),
            attachments=tuple(
                DeclaredPart(
                    attachment_id,
                    declared[attachment_id].mime_type,
                    declared[attachment_id].filename,
                )
                for attachment_id in sorted(self.attachments)
            ),
        )


def submission_id_for(portal_id: str, idempotency_key: str | None) -> UUID:
    """Same portal and key → same id, so a retried request finds its submission."""
    if idempotency_key is None:
        return uuid4()
    return uuid5(IDEMPOTENCY_NAMESPACE, f"{portal_id}\x00{idempotency_key}")


def request_digest(incoming: IncomingSubmission) -> str:
    """A digest of everything the request said; equal digests mean the same request."""
    body = {
        "metadata": incoming.metadata_document,
        "data": incoming.data.sha512,
        "attachments": sorted((k, v.sha512) for k, v in incoming.attachments.items()),
        "routing": incoming.routing.model_dump(exclude_none=True) if incoming.routing else None,
    }
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


def hash_problems(incoming: IncomingSubmission) -> list[Problem]:
    """Every mismatch between the declared hashes and the parts actually sent."""
    problems: list[Problem] = []
    structure = incoming.metadata.content_structure
    if not hmac.compare_digest(structure.data.hash.content, incoming.data.sha512):
        problems.append(
            Problem.of(
                "data-hash-mismatch",
                "Data hash mismatch",
                status=422,
                detail="The SHA-512 of the data differs from contentStructure.data.hash.",
            )
        )
    declared = {a.attachment_id: a for a in structure.attachments}
    problems.extend(
        Problem.of(
            "attachment-missing",
            "Declared attachment missing",
            status=422,
            detail=f"Attachment {attachment_id} is declared in the metadata but was not sent.",
        )
        for attachment_id in sorted(declared.keys() - incoming.attachments.keys())
    )
    problems.extend(
        Problem.of(
            "attachment-undeclared",
            "Attachment not declared",
            status=422,
            detail=f"Attachment {attachment_id} was sent but is not in the metadata.",
        )
        for attachment_id in sorted(incoming.attachments.keys() - declared.keys())
    )
    for attachment_id in sorted(incoming.attachments.keys() & declared.keys()):
        sent = incoming.attachments[attachment_id].sha512
        if not hmac.compare_digest(declared[attachment_id].hash.content, sent):
            problems.append(
                Problem.of(
                    "attachment-hash-mismatch",
                    "Attachment hash mismatch",
                    status=422,
                    detail=f"The SHA-512 of attachment {attachment_id} differs from the metadata.",
                )
            )
    return problems


def received_fields(
    incoming: IncomingSubmission, portal_id: str, correlation_id: str
) -> dict[str, Any]:
    """The fields of the Received event: facts and the sealed parts' names, no content."""
    assert incoming.dossier is not None
    assert incoming.data.blob is not None
    return {
        "portal_id": portal_id,
        "service_identifier": incoming.metadata.public_service_type.identifier,
        "leika_key": incoming.metadata.public_service_type.leika_key,
        "dossier": incoming.dossier,
        "data": _sealed(incoming.data),
        "attachments": [
            _sealed(incoming.attachments[attachment_id])
            for attachment_id in sorted(incoming.attachments)
        ],
        "request_digest": request_digest(incoming),
        "correlation_id": correlation_id,
    }


def _sealed(part: Part) -> dict[str, Any]:
    return {"blob": part.blob, "sha512": part.sha512, "size": part.size}
