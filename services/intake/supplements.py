"""Documents handed in later (Nachreichung): the pure decisions of ``POST …/supplements``.

A portal posts a :class:`contracts.replies.SupplementRequest` to a case that an authority
holds. Everything here is decided before anything is stored: the supplement's id (from the
``Idempotency-Key``), the request's digest (the same key for another body is a conflict),
whether the case takes documents (delivered, not erased, the request it answers open), and
whether the documents are what they claim (base64, SHA-512, sizes within the intake's
limits, media types on the allow-list). The route (``services.intake.supplements_http``)
seals what passed and records ``hand_in``.

The validation catalog names no media types for attachments (its entries describe the
data document only), so every service takes the intake's one allow-list,
``AMTSWEG_SUPPLEMENT_MEDIA_TYPES``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID, uuid4, uuid5

from contracts import linear_regex
from contracts.replies import SupplementRequest
from events.case import ReplyKind, RequestState, Supplement
from events.lifecycle import Status
from events.submission import Submission
from services.intake.errors import ProblemError
from services.intake.settings import IntakeSettings

SUPPLEMENT_NAMESPACE: Final = UUID("0c6f1f0e-7d1c-4b0e-9d59-2a3e5b7c8d41")


_PART_ID = linear_regex.compile(r"^[A-Za-z0-9._-]{1,64}$")
"""An ``attachmentId`` becomes a part id in a URL path (``…/parts/{partId}``)."""

DELIVERED: Final = frozenset({Status.DISPATCHED, Status.ACCEPTED})
"""Where a case takes documents: an authority holds it."""


@dataclass(frozen=True)
class Document:
    """One document handed in later, decoded and checked (not yet sealed)."""

    attachment_id: str
    mime_type: str
    filename: str | None
    content: bytes

    @property
    def sha512(self) -> str:
        """The SHA-512 (hex) of its bytes."""
        return hashlib.sha512(self.content).hexdigest()


def supplement_id_for(submission_id: UUID, idempotency_key: str | None) -> str:
    """Same submission and key → same supplement; without a key a new one every time."""
    if idempotency_key is None:
        return str(uuid4())
    return str(uuid5(SUPPLEMENT_NAMESPACE, f"{submission_id}\x00{idempotency_key}"))


def request_digest(request: SupplementRequest) -> str:
    """SHA-256 over the request's canonical JSON: equal digests, the same request."""
    body = request.model_dump(mode="json", by_alias=True)
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


def problem(status: int, slug: str, title: str, detail: str) -> ProblemError:
    """One RFC 7807 problem (nothing is recorded)."""
    return ProblemError.single(status, slug, title, detail)


def check_case(submission: Submission, answers: str | None) -> None:
    """The problem when the case does not take documents now (erased, not delivered, the
    request it answers unknown or answered); None when it does."""
    if submission.content_erased:
        raise problem(410, "content-erased", "Content erased", "The case's content was erased.")
    if submission.status not in DELIVERED:
        raise problem(
            409,
            "not-delivered",
            "Not delivered",
            f"The submission is {submission.status.value}: no authority holds its case.",
        )
    if answers is None:
        return
    request = submission.replies.get(answers)
    if request is None or request.kind is not ReplyKind.REQUEST:
        raise problem(
            422,
            "request-not-found",
            "Request not found",
            f"The case has no request for documents {answers}.",
        )
    if request.state is RequestState.ANSWERED:
        raise problem(
            409,
            "request-answered",
            "Request answered",
            f"The request {answers} was answered by supplement {request.answered_by}.",
        )


def decode_documents(
    request: SupplementRequest, settings: IntakeSettings, media_types: frozenset[str]
) -> list[Document]:
    """Every document decoded and checked against its hash and the intake's limits."""
    if len(request.attachments) > settings.max_attachments:
        raise problem(
            413,
            "part-too-large",
            "Too many documents",
            f"At most {settings.max_attachments} documents at a time.",
        )
    documents: list[Document] = []
    total = 0
    for declared in request.attachments:
        name = declared.attachment_id
        if not _PART_ID.fullmatch(name):
            raise problem(
                400,
                "malformed-request",
                "Malformed request",
                "attachmentId: only letters, digits, '.', '_' and '-' (at most 64).",
            )
        if declared.mime_type.lower() not in media_types:
            raise problem(
                422,
                "media-type-not-allowed",
                "Media type not allowed",
                f"Document {name}: {declared.mime_type} is not accepted "
                f"({', '.join(sorted(media_types))}).",
            )
        if len(declared.content) > _encoded_length(settings.max_attachment_bytes):
            raise _too_large(name, settings.max_attachment_bytes)
        try:
            content = base64.b64decode(declared.content, validate=True)
        except (binascii.Error, ValueError):
            raise problem(
                400, "malformed-request", "Malformed request", f"Document {name}: not base64."
            ) from None
        if len(content) > settings.max_attachment_bytes:
            raise _too_large(name, settings.max_attachment_bytes)
        total += len(content)
        if total > settings.max_total_bytes:
            raise problem(
                413,
                "part-too-large",
                "Part too large",
                f"The documents exceed {settings.max_total_bytes} bytes together.",
            )
        document = Document(name, declared.mime_type, declared.filename, content)
        if not hmac.compare_digest(document.sha512, declared.hash.content.lower()):
            raise problem(
                422,
                "hash-mismatch",
                "Hash mismatch",
                f"The SHA-512 of document {name} differs from its hash.content.",
            )
        documents.append(document)
    return documents


def _encoded_length(size: int) -> int:
    return 4 * ((size + 2) // 3)


def _too_large(name: str, limit: int) -> ProblemError:
    return problem(
        413, "part-too-large", "Part too large", f"Document {name} exceeds {limit} bytes."
    )


def dossier_document(request: SupplementRequest) -> dict[str, Any]:
    """What the portal said, sealed beside the documents (the ledger holds no file name)."""
    return {
        "note": request.note,
        "answers": request.answers,
        "attachments": [
            {"attachmentId": a.attachment_id, "mimeType": a.mime_type, "filename": a.filename}
            for a in request.attachments
        ],
    }


def state_of(supplement: Supplement) -> str:
    """``received``, ``dispatched`` (the follow-up delivery went out), ``accepted`` or
    ``rejected`` (the authority's receipt)."""
    if supplement.outcome is not None:
        return "accepted" if supplement.outcome == "accepted" else "rejected"
    return "dispatched" if supplement.delivery_id is not None else "received"
