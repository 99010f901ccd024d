"""Whether an authority's reply may count: pure checks, in the order the use case runs them.

1. Addressing: the submission's own delivery (or follow-up delivery), from the authority it
   was delivered to (and the one the token proves), content not erased.
2. Signature: when the directory holds the authority's verification key, only a reply
   signed with it counts; without one, a plain reply counts (``signed`` false).
3. Repeat: the same reply id with the same JSON is the same reply again; with other JSON
   a conflict.
4. Status: only a delivered case (dispatched or accepted) takes replies.
5. Deadline: a request's ``due`` is an ISO 8601 date-time with zone in the future.
6. Documents: how many, their media types, valid base64, size, SHA-512 of the bytes.

Each refusal names its reason and a detail without content (part ids, limits).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from contracts.replies import ReplyMessage, ReplyPart
from events.lifecycle import TRANSITIONS
from events.submission import Submission
from services.delivery.crypto import SignatureError, verify_signed_receipt
from services.delivery.recipients import Recipients


class ReplyRefusal(StrEnum):
    """Why a reply does not count (the problem's slug)."""

    MALFORMED = "malformed-reply"
    TOO_LARGE = "reply-too-large"
    DELIVERY_MISMATCH = "delivery-id-mismatch"
    DELIVERY_NOT_FOUND = "delivery-not-found"
    WRONG_AUTHORITY = "wrong-authority"
    SIGNATURE_REQUIRED = "reply-signature-required"
    SIGNATURE_INVALID = "reply-signature-invalid"
    CONTENT_ERASED = "content-erased"
    CONFLICT = "reply-conflict"
    NOT_DELIVERED = "not-delivered"
    DUE_INVALID = "due-invalid"
    TOO_MANY_PARTS = "too-many-parts"
    PART_TOO_LARGE = "part-too-large"
    MEDIA_TYPE = "media-type-not-allowed"
    HASH_MISMATCH = "hash-mismatch"


@dataclass(frozen=True)
class Refused:
    """A refusal and what the sender should know (never the reply's content)."""

    refusal: ReplyRefusal
    detail: str


@dataclass(frozen=True)
class ReplyLimits:
    """What a reply's documents may be (from ``DeliverySettings``)."""

    max_parts: int
    max_part_bytes: int
    media_types: frozenset[str]

    @classmethod
    def of(cls, max_parts: int, max_part_bytes: int, media_types: Iterable[str]) -> ReplyLimits:
        """Limits with the media types compared without case."""
        return cls(max_parts, max_part_bytes, frozenset(m.lower() for m in media_types))


def check_addressing(
    submission: Submission, message: ReplyMessage, sender: str | None
) -> Refused | None:
    """Step 1: the submission's delivery, its addressee, content still there."""
    if sender is not None and sender != message.authority_id:
        return Refused(ReplyRefusal.WRONG_AUTHORITY, "the reply names another authority")
    if message.submission_id != str(submission.id) or (
        message.delivery_id not in submission.deliveries_of_case()
    ):
        return Refused(ReplyRefusal.DELIVERY_NOT_FOUND, "no such delivery of this submission")
    if message.authority_id != submission.authority_id:
        return Refused(ReplyRefusal.WRONG_AUTHORITY, "not the addressee of this delivery")
    if submission.content_erased:
        return Refused(ReplyRefusal.CONTENT_ERASED, "the submission's content was erased")
    return None


def check_signature(
    recipients: Recipients, authority_id: str, jws: str | None, max_bytes: int
) -> Refused | str | None:
    """Step 2: the ``kid`` that signed it (a str), None for a plain reply that may count
    unsigned, or the refusal (``max_bytes``: the largest reply taken)."""
    recipient = recipients.get(authority_id)
    key: dict[str, Any] | None = recipient.verification_key() if recipient else None
    if key is None:
        return None
    if jws is None:
        return Refused(ReplyRefusal.SIGNATURE_REQUIRED, "the reply must be signed")
    try:
        verify_signed_receipt(jws, key, max_payload_bytes=max_bytes)
    except SignatureError:
        return Refused(ReplyRefusal.SIGNATURE_INVALID, "the signature is not valid")
    return str(key.get("kid") or authority_id)


def reply_digest(payload: bytes) -> str:
    """The SHA-256 (hex) that recognises the same reply again."""
    return hashlib.sha256(payload).hexdigest()


def check_repeat(submission: Submission, message: ReplyMessage, digest: str) -> Refused | bool:
    """Step 3: True if this reply was recorded before, False if new, or the conflict."""
    known = submission.replies.get(message.reply_id)
    if known is None:
        return False
    if known.request_digest != digest:
        return Refused(ReplyRefusal.CONFLICT, "this replyId was used for another reply")
    return True


def check_status(submission: Submission) -> Refused | None:
    """Step 4: only a case an authority holds (dispatched or accepted) takes replies."""
    if submission.status in TRANSITIONS["reply"].effect:
        return None
    return Refused(ReplyRefusal.NOT_DELIVERED, f"the submission is {submission.status}")


def check_due(message: ReplyMessage, now: datetime) -> Refused | None:
    """Step 5: a request's deadline is a future ISO 8601 date-time with its zone."""
    if message.due is None:
        return None
    try:
        due = datetime.fromisoformat(message.due)
    except ValueError:
        return Refused(ReplyRefusal.DUE_INVALID, "due is not an ISO 8601 date-time")
    if due.tzinfo is None or due.utcoffset() is None:
        return Refused(ReplyRefusal.DUE_INVALID, "due needs its zone (e.g. Z or +01:00)")
    if due <= now:
        return Refused(ReplyRefusal.DUE_INVALID, "due lies in the past")
    return None


def decode_parts(message: ReplyMessage, limits: ReplyLimits) -> Refused | list[bytes]:
    """Step 6: each document's bytes, in order, or why one does not count."""
    if len(message.parts) > limits.max_parts:
        detail = f"at most {limits.max_parts} documents per reply"
        return Refused(ReplyRefusal.TOO_MANY_PARTS, detail)
    decoded: list[bytes] = []
    for part in message.parts:
        content = _decode(part, limits)
        if isinstance(content, Refused):
            return content
        decoded.append(content)
    return decoded


def _decode(part: ReplyPart, limits: ReplyLimits) -> Refused | bytes:
    if part.mime_type.lower() not in limits.media_types:
        detail = f"part {part.part_id}: {part.mime_type} is not allowed"
        return Refused(ReplyRefusal.MEDIA_TYPE, detail)
    too_large = Refused(
        ReplyRefusal.PART_TOO_LARGE,
        f"part {part.part_id}: larger than {limits.max_part_bytes} bytes",
    )
    if len(part.content) // 4 * 3 > limits.max_part_bytes + 2:  # before decoding it
        return too_large
    try:
        content = base64.b64decode(part.content, validate=True)
    except (binascii.Error, ValueError):
        return Refused(ReplyRefusal.MALFORMED, f"part {part.part_id}: content is not base64")
    if len(content) > limits.max_part_bytes:
        return too_large
    if hashlib.sha512(content).hexdigest() != part.hash.content.lower():
        detail = f"part {part.part_id}: the SHA-512 does not match the content"
        return Refused(ReplyRefusal.HASH_MISMATCH, detail)
    return content
