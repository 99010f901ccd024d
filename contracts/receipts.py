"""Receipts as they arrive: plain JSON, or signed as a JWS compact serialization.

A signed receipt is ``BASE64URL(header) . BASE64URL(receipt JSON) . BASE64URL(signature)``
(RFC 7515) with an asymmetric ``alg`` from :data:`RECEIPT_SIGNATURE_ALGORITHMS` and the
``kid`` of the authority's signing key. Parsing here does not verify the signature: the
delivery service does that with the key from the authority directory.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contracts.messages import Receipt

RECEIPT_SIGNATURE_ALGORITHMS = (
    "PS512",
    "PS384",
    "PS256",
    "RS512",
    "RS384",
    "RS256",
    "ES512",
    "ES384",
    "ES256",
)
"""Asymmetric JWS algorithms a receipt may be signed with (never ``none`` or HMAC)."""

JOSE_MEDIA_TYPE = "application/jose"
"""Media type of a JWS or JWE in compact serialization."""

MAX_RECEIPT_BYTES = 64 * 1024


class MalformedReceiptError(ValueError):
    """The bytes are neither a receipt nor a signed receipt."""


@dataclass(frozen=True)
class ReceiptMessage:
    """A receipt, and the JWS it came in when it was signed (its signature not yet checked)."""

    receipt: Receipt
    jws: str | None = None


def b64url_decode(segment: bytes | str) -> bytes:
    """Decode unpadded base64url (RFC 7515 section 2)."""
    text = segment if isinstance(segment, bytes) else segment.encode("ascii")
    try:
        return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise MalformedReceiptError("not base64url") from error


def parse_receipt_message(raw: bytes) -> ReceiptMessage:
    """A receipt from a message body: JSON, or a JWS whose payload is the JSON."""
    if len(raw) > MAX_RECEIPT_BYTES:
        raise MalformedReceiptError(f"larger than {MAX_RECEIPT_BYTES} bytes")
    text = raw.strip()
    try:
        if text.startswith(b"{"):
            return ReceiptMessage(Receipt.model_validate_json(text))
        segments = text.split(b".")
        if len(segments) != 3 or not all(segments):
            raise MalformedReceiptError("neither JSON nor a JWS compact serialization")
        header = json.loads(b64url_decode(segments[0]))
        if not isinstance(header, dict) or header.get("alg") not in RECEIPT_SIGNATURE_ALGORITHMS:
            raise MalformedReceiptError("the JWS algorithm is not allowed for receipts")
        receipt = Receipt.model_validate_json(b64url_decode(segments[1]))
        return ReceiptMessage(receipt, text.decode("ascii"))
    except (ValidationError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MalformedReceiptError(str(error).splitlines()[0]) from error


class ReceiptAnswer(BaseModel):
    """The answer to ``POST /v1/deliveries/{deliveryId}/receipt``.

    ``recorded`` is false when the receipt changed nothing (the delivery was answered
    before): a receipt may be sent again safely.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    delivery_id: str = Field(alias="deliveryId")
    outcome: str
    recorded: bool
