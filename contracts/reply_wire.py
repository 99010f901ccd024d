"""Replies as they arrive: plain JSON, or signed as a JWS compact serialization.

An authority's reply (:class:`contracts.replies.ReplyMessage`) travels like a receipt
(:mod:`contracts.receipts`): its JSON, or ``BASE64URL(header) . BASE64URL(reply JSON) .
BASE64URL(signature)`` with an asymmetric ``alg`` and the ``kid`` of the authority's
signing key. Parsing here does not verify the signature: the delivery service does that
with the key from the authority directory. On ``amtsweg.delivery.receipts`` a reply is
told from a receipt by the header ``amtsweg-message: reply`` or its ``type``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contracts.receipts import (
    RECEIPT_SIGNATURE_ALGORITHMS,
    MalformedReceiptError,
    b64url_decode,
)
from contracts.replies import REPLY, ReplyMessage


class MalformedReplyError(ValueError):
    """The bytes are neither a reply nor a signed reply."""


class ReplyTooLargeError(MalformedReplyError):
    """The reply is larger than the instance takes."""


@dataclass(frozen=True)
class ArrivedReply:
    """A reply, the JSON it was sent as, and the JWS it came in (its signature not checked)."""

    message: ReplyMessage
    payload: bytes
    """The reply's JSON as sent: the message, or the JWS's payload. Its SHA-256 is what
    makes the same reply again recognisable (a JWS signed again differs, its payload not)."""
    jws: str | None = None


def parse_reply(raw: bytes, max_bytes: int) -> ArrivedReply:
    """A reply from a message body: JSON, or a JWS whose payload is the JSON."""
    if len(raw) > max_bytes:
        raise ReplyTooLargeError(f"larger than {max_bytes} bytes")
    text = raw.strip()
    try:
        if text.startswith(b"{"):
            return ArrivedReply(ReplyMessage.model_validate_json(text), text)
        segments = text.split(b".")
        if len(segments) != 3 or not all(segments):
            raise MalformedReplyError("neither JSON nor a JWS compact serialization")
        header = json.loads(b64url_decode(segments[0]))
        if not isinstance(header, dict) or header.get("alg") not in RECEIPT_SIGNATURE_ALGORITHMS:
            raise MalformedReplyError("the JWS algorithm is not allowed for replies")
        payload = b64url_decode(segments[1])
        message = ReplyMessage.model_validate_json(payload)
        return ArrivedReply(message, payload, text.decode("ascii"))
    except ValidationError as error:
        raise MalformedReplyError(describe(error)) from error
    except (MalformedReceiptError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MalformedReplyError(str(error).splitlines()[0][:200]) from error


def describe(error: ValidationError) -> str:
    """Where and why a reply does not fit its contract, never the values it holds."""
    problems = [
        f"{'.'.join(str(part) for part in problem['loc']) or 'reply'}: {problem['msg']}"
        for problem in error.errors(include_input=False, include_url=False)[:3]
    ]
    return "; ".join(problems)[:500]


def is_reply(raw: bytes, message_header: str | None) -> bool:
    """True if a message on the receipts topic is a reply, not a receipt.

    The header ``amtsweg-message`` decides when present; without it, the ``type`` of the
    JSON (or of the JWS payload) does.
    """
    if message_header is not None:
        return message_header == REPLY
    text = raw.strip()
    try:
        if not text.startswith(b"{"):
            segments = text.split(b".")
            if len(segments) != 3:
                return False
            text = b64url_decode(segments[1])
        document = json.loads(text)
    except (MalformedReceiptError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(document, dict) and document.get("type") == REPLY


class ReplyAnswer(BaseModel):
    """The answer to ``POST /v1/deliveries/{deliveryId}/replies``.

    ``recorded`` is false when this reply was recorded before (the same reply again
    changes nothing): a reply may be sent again safely.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    reply_id: str = Field(alias="replyId")
    recorded: bool
