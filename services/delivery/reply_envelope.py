"""The reply as the portal gets it: the one translation of a reply into a ``ReplyEnvelope``.

Parts travel by reference only (``/v1/submissions/{id}/replies/{replyId}/parts/{partId}``,
prefixed with ``DeliverySettings.public_base_url``), with the SHA-512 and size of their
plaintext. When the portal registered an encryption key, what the authority wrote
(subject, text, what is requested, file names) travels only as a JWE of the
``ReplyContent`` JSON to that key; otherwise as plain ``content``. ``replyChannel`` is the
name of the reply channel the submission's metadata names (``eMail``, ``fink`` …), never
its address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from joserfc.jwk import RSAKey

from contracts.messages import Encryption, PayloadPart
from contracts.replies import ReplyContent, ReplyEnvelope, ReplyLinks, ReplyMessage
from events.dossier import Dossier
from events.submission import Submission
from services.delivery.crypto import JweSealer


@dataclass(frozen=True)
class SealedDocument:
    """One document of the reply as sealed: its id, media type, hash and size."""

    part_id: str
    mime_type: str
    sha512: str
    size: int


def reply_path(submission_id: str, reply_id: str) -> str:
    """The reply's path on the portal's API."""
    return f"/v1/submissions/{submission_id}/replies/{reply_id}"


def reply_channel_name(dossier: Dossier) -> str | None:
    """The name of the one reply channel the metadata names, if it names one."""
    channel = dossier.metadata.get("replyChannel")
    if isinstance(channel, dict) and len(channel) == 1:
        name = next(iter(channel))
        return name if isinstance(name, str) else None
    return None


def portal_sealer(jwk: dict[str, Any]) -> JweSealer:
    """Encrypts to a portal's key (its RFC 7638 thumbprint as ``kid`` when it names none)."""
    if jwk.get("kid"):
        return JweSealer(jwk)
    return JweSealer({**jwk, "kid": RSAKey.import_key(jwk).thumbprint()})


def reply_content(message: ReplyMessage) -> ReplyContent:
    """What the authority wrote, as the portal reads it."""
    return ReplyContent(
        subject=message.subject,
        text=message.text,
        requested=list(message.requested),
        reference=message.reference,
        filenames={p.part_id: p.filename for p in message.parts if p.filename},
    )


def build_reply_envelope(
    submission: Submission,
    message: ReplyMessage,
    documents: list[SealedDocument],
    *,
    now: datetime,
    signed: bool,
    reply_channel: str | None,
    sealer: JweSealer | None,
    base_url: str = "",
) -> ReplyEnvelope:
    """The portal's envelope of a reply (encrypted to ``sealer`` when given)."""
    path = base_url.rstrip("/") + reply_path(str(submission.id), message.reply_id)
    content = reply_content(message)
    filenames = content.filenames if sealer is None else {}
    parts = [
        PayloadPart(
            part_id=d.part_id,
            mime_type=d.mime_type,
            size=d.size,
            sha512=d.sha512,
            reference=f"{path}/parts/{d.part_id}",
            filename=filenames.get(d.part_id),
        )
        for d in documents
    ]
    encrypted = (
        sealer.seal(content.model_dump_json(by_alias=True).encode(), "application/json")
        if sealer is not None
        else None
    )
    return ReplyEnvelope(
        reply_id=message.reply_id,
        submission_id=str(submission.id),
        case_id=submission.case_id,
        authority_id=message.authority_id,
        kind=message.kind,
        replied_at=now.isoformat(),
        due=message.due,
        signed=signed,
        reply_channel=reply_channel,
        encryption=Encryption(kid=sealer.kid) if sealer is not None else None,
        content=content if sealer is None else None,
        encrypted_content=encrypted,
        parts=parts,
        links=ReplyLinks(self_=path),
    )
