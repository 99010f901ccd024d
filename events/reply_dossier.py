"""What an authority wrote in a reply, sealed in the vault beside the reply's documents.

The ledger's ``Replied`` event names the dossier's blob and the sealed parts (with the
SHA-512 and size of their plaintext, in the dossier's order); subject, text, what a
request asks for, the authority's file number and the parts' media types and file names
are content and live only here, under the submission's data key (erased with it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from events.vault import Vault


@dataclass(frozen=True)
class ReplyDocument:
    """One document of a reply, as the authority declared it."""

    part_id: str
    mime_type: str
    filename: str | None = None


@dataclass(frozen=True)
class ReplyDossier:
    """A reply's content apart from its documents' bytes."""

    subject: str
    text: str
    requested: tuple[str, ...]
    reference: str | None
    parts: tuple[ReplyDocument, ...]
    """In the order of the ``Replied`` event's ``parts``."""

    def document(self) -> dict[str, Any]:
        """The JSON document sealed in the vault."""
        return {
            "subject": self.subject,
            "text": self.text,
            "requested": list(self.requested),
            "reference": self.reference,
            "parts": [
                {"partId": p.part_id, "mimeType": p.mime_type, "filename": p.filename}
                for p in self.parts
            ],
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> ReplyDossier:
        """Read the sealed document back."""
        return cls(
            subject=document["subject"],
            text=document.get("text", ""),
            requested=tuple(document.get("requested", [])),
            reference=document.get("reference"),
            parts=tuple(
                ReplyDocument(p["partId"], p["mimeType"], p.get("filename"))
                for p in document.get("parts", [])
            ),
        )

    @classmethod
    def of(cls, vault: Vault, submission_id: UUID, blob: str) -> ReplyDossier:
        """A reply's dossier (``ContentErasedError`` once the submission is erased)."""
        return cls.from_document(vault.read_document(submission_id, blob))
