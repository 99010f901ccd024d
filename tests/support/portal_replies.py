"""Replies recorded directly on a submission (``Submission.reply`` + the vault), for tests
of the portal's side: what the authority's reply intake records, without it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from contracts.replies import ReplyContent, ReplyEnvelope, ReplyLinks
from events.case import ReplyKind
from events.ledger import Ledger
from events.submission import Submission
from events.vault import Vault
from tests.support.factories import sealed_submission, xdomea_sample

AUTHORITY = "jc-koeln"
DELIVERY = "d-1"


@dataclass(frozen=True)
class ReplyPart:
    part_id: str
    media_type: str
    filename: str
    content: bytes


def delivered_case(
    ledger: Ledger, vault: Vault, portal_id: str = "portal-a", topic: str | None = None
) -> Submission:
    """A submission of ``portal_id``, sealed, routed and dispatched to the authority (on
    its topic, or ``topic``), saved."""
    submission = sealed_submission(vault, xdomea_sample(), portal_id=portal_id)
    submission.validate("cat-1", "urn:x")
    submission.route(AUTHORITY, "053150000000", "05315", "dir-1")
    topic = topic or f"amtsweg.delivery.{AUTHORITY}"
    submission.dispatch(DELIVERY, AUTHORITY, topic, {"deliveryId": DELIVERY})
    ledger.save(submission)
    return submission


def record_reply(
    ledger: Ledger,
    vault: Vault,
    submission_id: UUID,
    reply_id: str,
    *,
    kind: ReplyKind = ReplyKind.DECISION,
    parts: tuple[ReplyPart, ...] = (),
    due: str | None = None,
    topic: str | None = None,
) -> bytes:
    """Record a reply as the reply intake would (dossier, parts and envelope sealed);
    the envelope's JSON as sealed."""
    dossier = {
        "subject": f"Reply {reply_id}",
        "text": "Sehr geehrte Antragstellerin …",
        "requested": ["Lohnabrechnung"] if kind is ReplyKind.REQUEST else [],
        "reference": "AZ-1",
        "parts": [
            {"partId": p.part_id, "mediaType": p.media_type, "filename": p.filename} for p in parts
        ],
    }
    sealed_dossier = vault.put_document(submission_id, dossier).blob
    sealed_parts: list[dict[str, Any]] = []
    for part in parts:
        stored = vault.put(submission_id, part.content)
        sealed_parts.append(
            {
                "partId": part.part_id,
                "blob": stored.blob,
                "sha512": stored.sha512,
                "size": stored.size,
            }
        )
    submission = ledger.get_submission(submission_id)
    base = f"/v1/submissions/{submission_id}/replies/{reply_id}"
    envelope = ReplyEnvelope(
        reply_id=reply_id,
        submission_id=str(submission_id),
        case_id=submission.case_id,
        authority_id=AUTHORITY,
        kind=str(kind),
        replied_at="2026-03-02T09:00:00+00:00",
        due=due,
        signed=False,
        content=ReplyContent(
            subject=dossier["subject"],
            text=dossier["text"],
            requested=dossier["requested"],
            reference="AZ-1",
            filenames={p.part_id: p.filename for p in parts},
        ),
        parts=[
            {
                "partId": p.part_id,
                "mimeType": p.media_type,
                "size": len(p.content),
                "sha512": hashlib.sha512(p.content).hexdigest(),
                "reference": f"{base}/parts/{p.part_id}",
            }
            for p in parts
        ],
        links=ReplyLinks(self_=base),
    )
    envelope_json = envelope.model_dump_json(by_alias=True, exclude_none=True).encode()
    sealed_envelope = vault.put_envelope(submission_id, envelope_json)
    ledger.execute(
        submission_id,
        lambda s: s.reply(
            reply_id,
            kind=kind,
            authority_id=AUTHORITY,
            delivery_id=DELIVERY,
            dossier=sealed_dossier,
            parts=sealed_parts,
            request_digest=hashlib.sha256(envelope_json).hexdigest(),
            due=due,
            topic=topic,
            envelope=sealed_envelope,
        ),
    )
    return envelope_json
