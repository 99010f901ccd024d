"""What a portal said about its submission, sealed in the vault beside the parts.

The ledger's ``Received`` event names the dossier's blob; the stages read it from the
vault when they need it: validation the data's media type and schema and the applicant's
assurance level, routing the
routing hint, delivery the metadata and the parts' ids and file names. Validation's
findings (the routing keys found in the data) are a sealed document of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from contracts.assurance import PresentedLevel, presented_level
from events.submission import Submission
from events.vault import Vault


class SealedParts(Protocol):
    """What a submission records of its parts: ``blob``, ``sha512`` and ``size`` of each
    (a ``Submission`` is one)."""

    @property
    def data(self) -> dict[str, Any]: ...

    @property
    def attachments(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class DeclaredPart:
    """What the metadata declares of one part (its plaintext hash and size are in the event)."""

    part_id: str
    """``data`` or the attachment's ``attachmentId``."""
    mime_type: str
    filename: str | None = None
    schema_uri: str | None = None
    """The data's declared schema (``None`` for attachments)."""


@dataclass(frozen=True)
class Dossier:
    """The metadata as sent, the routing hint, and the declared parts (data first)."""

    metadata: dict[str, Any]
    routing: dict[str, Any] | None
    data: DeclaredPart
    attachments: tuple[DeclaredPart, ...]
    """In the order of the ``Received`` event's ``attachments``."""

    @property
    def assurance(self) -> PresentedLevel:
        """The applicant's assurance level the metadata presents (only the level is read)."""
        return presented_level(self.metadata.get("authenticationInformation"))

    def document(self) -> dict[str, Any]:
        """The JSON document sealed in the vault."""
        return {
            "metadata": self.metadata,
            "routing": self.routing,
            "data": {"mimeType": self.data.mime_type, "schemaUri": self.data.schema_uri},
            "attachments": [
                {"attachmentId": a.part_id, "mimeType": a.mime_type, "filename": a.filename}
                for a in self.attachments
            ],
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Dossier:
        """Read the sealed document back."""
        data = document["data"]
        return cls(
            metadata=document["metadata"],
            routing=document.get("routing"),
            data=DeclaredPart("data", data["mimeType"], schema_uri=data.get("schemaUri")),
            attachments=tuple(
                DeclaredPart(a["attachmentId"], a["mimeType"], a.get("filename"))
                for a in document.get("attachments", [])
            ),
        )

    @classmethod
    def of(cls, vault: Vault, submission: Submission) -> Dossier:
        """The submission's dossier (``ContentErasedError`` once erased)."""
        return cls.from_document(vault.read_document(submission.id, submission.dossier))

    def parts(self, submission: SealedParts) -> list[tuple[DeclaredPart, dict[str, Any]]]:
        """Each declared part with its sealed part (``blob``, ``sha512``, ``size``), data first."""
        return [
            (self.data, submission.data),
            *zip(self.attachments, submission.attachments, strict=True),
        ]


def seal_findings(vault: Vault, submission: Submission, routing_keys: dict[str, str]) -> str | None:
    """Seal the routing keys validation found in the data; the blob name (None if none)."""
    if not routing_keys:
        return None
    return vault.put_document(submission.id, {"routingKeys": routing_keys}).blob


def routing_keys(vault: Vault, submission: Submission) -> dict[str, str]:
    """The routing keys validation found in the data (``ContentErasedError`` once erased)."""
    if submission.findings is None:
        return {}
    keys: dict[str, str] = vault.read_document(submission.id, submission.findings)["routingKeys"]
    return keys
