"""The proof of receipt (Eingangsbestätigung): what Amtsweg received, signed by Amtsweg.

The day an application is received can decide an entitlement (Bürgergeld counts from
the month of the application), so a portal can hand its applicant a confirmation of
every submission Amtsweg recorded as ``Received``. It is a compact JWS (RFC 7515) with
the header ``typ`` :data:`CONFIRMATION_TYP`, ``alg`` ES256 and the ``kid`` of one of
Amtsweg's published signing keys (``GET /v1/keys``, the keys that sign delivery
envelopes), so anyone can check it offline. Its JSON payload (:class:`Confirmation`)
holds facts only, never personal data: when, which submission and case, which portal
and service, the SHA-512 and size of every part, and the ``Received`` event's version
and chain hash, which leads through the submission's trail to a signed checkpoint.
The claims are a function of the ``Received`` event alone: the same for a submission
every time it is asked for (the ECDSA signature itself differs).

Documents handed in later (a supplement) get a confirmation of their own: the same
claims with ``supplementId`` (and ``answers``, the request it answers), no ``data``, the
supplement's documents as ``attachments``, and its ``SupplementReceived`` event's version
and chain hash as ``received``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from contracts.envelope_signature import ENVELOPE_SIGNATURE_ALG, SigningKey
from contracts.receipts import MalformedReceiptError, b64url_decode

CONFIRMATION_TYP: Final = "amtsweg-receipt+jwt"
"""The JWS header ``typ`` of a confirmation (no other Amtsweg signature has it)."""

CONFIRMATION_FORMAT: Final = "amtsweg-confirmation/1"

JOSE_MEDIA_TYPE: Final = "application/jose"
"""The media type of a compact JWS (RFC 7515, section 9.2.1)."""

MAX_CONFIRMATION_BYTES: Final = 64 * 1024
"""More than any confirmation holds (its size grows with the number of attachments)."""

_SHA512_HEX = r"^[0-9a-f]{128}$"
_CHAIN_HASH = r"^[0-9a-f]{64}$"


class ConfirmationError(ValueError):
    """A confirmation is not a JWS, not Amtsweg's, tampered with, or its claims malformed."""


class ReceivedPart(BaseModel):
    """One part as received: its SHA-512 (hex) and size in bytes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sha512: str = Field(pattern=_SHA512_HEX)
    size: int = Field(ge=0)


class ReceivedEvent(BaseModel):
    """The ``Received`` event in the submission's hash chain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    hash: str = Field(pattern=_CHAIN_HASH)


class Confirmation(BaseModel):
    """The payload of a confirmation (its claims)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    format: str = Field(default=CONFIRMATION_FORMAT, pattern=f"^{CONFIRMATION_FORMAT}$")
    issuer: str = Field(alias="iss", min_length=1, max_length=200)
    issued_at: int = Field(alias="iat", ge=0)
    """The time received, in seconds since the epoch (``receivedAt`` is exact)."""
    received_at: datetime = Field(alias="receivedAt")
    submission_id: str = Field(alias="submissionId", min_length=1, max_length=100)
    case_id: str = Field(alias="caseId", min_length=1, max_length=100)
    portal_id: str = Field(alias="portalId", min_length=1, max_length=200)
    service_identifier: str = Field(alias="serviceIdentifier", max_length=200)
    leika_key: str = Field(alias="leikaKey", pattern=r"^[0-9]{14}$")
    data: ReceivedPart | None = None
    """The submission's data document (a supplement's confirmation has none)."""
    attachments: list[ReceivedPart]
    received: ReceivedEvent
    """The confirmed event: the submission's ``Received`` (version 1), or the
    ``SupplementReceived`` of the supplement it confirms."""
    supplement_id: str | None = Field(
        default=None, alias="supplementId", min_length=1, max_length=100
    )
    """Set when it confirms documents handed in later (then ``attachments`` are those)."""
    answers: str | None = Field(default=None, min_length=1, max_length=100)
    """The request for documents (its reply id) the supplement answers, if any."""

    @model_validator(mode="after")
    def _a_submission_or_a_supplement(self) -> Confirmation:
        if (self.supplement_id is None) == (self.data is None):
            msg = "a submission's confirmation names its data, a supplement's its supplementId"
            raise ValueError(msg)
        if self.supplement_id is None and (self.answers is not None or self.received.version != 1):
            msg = "a submission's confirmation names its Received event (version 1)"
            raise ValueError(msg)
        return self

    def claims(self) -> dict[str, Any]:
        """The JSON object that is signed (a submission's without the supplement's fields)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


@functools.cache
def _registry() -> jws.JWSRegistry:
    registry = jws.JWSRegistry(algorithms=[ENVELOPE_SIGNATURE_ALG])
    registry.max_payload_length = MAX_CONFIRMATION_BYTES
    return registry


def _payload(confirmation: Confirmation) -> bytes:
    return json.dumps(confirmation.claims(), sort_keys=True, separators=(",", ":")).encode()


def sign_confirmation(confirmation: Confirmation, signer: SigningKey) -> str:
    """The compact JWS of ``confirmation`` with a private P-256 key (its ``kid`` named)."""
    header = {"alg": ENVELOPE_SIGNATURE_ALG, "typ": CONFIRMATION_TYP, "kid": signer.kid}
    payload = _payload(confirmation)
    return jws.serialize_compact(header, payload, signer.key, registry=_registry())


def _header(token: str) -> dict[str, Any]:
    segments = token.split(".")
    if len(token) > MAX_CONFIRMATION_BYTES or len(segments) != 3 or not segments[1]:
        raise ConfirmationError("not a JWS compact serialization")
    try:
        header = json.loads(b64url_decode(segments[0]))
    except (MalformedReceiptError, ValueError) as error:
        raise ConfirmationError("the JWS header is not base64url JSON") from error
    if not isinstance(header, dict):
        raise ConfirmationError("the JWS header is not a JSON object")
    if header.get("typ") != CONFIRMATION_TYP:
        raise ConfirmationError(f"the JWS typ is not {CONFIRMATION_TYP!r}: not a confirmation")
    if header.get("alg") != ENVELOPE_SIGNATURE_ALG:
        raise ConfirmationError(f"the JWS algorithm must be {ENVELOPE_SIGNATURE_ALG}")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise ConfirmationError("the JWS names no kid")
    return header


def verify_confirmation(
    token: str, keys: Mapping[str, Mapping[str, Any]]
) -> tuple[str, Confirmation]:
    """The ``kid`` that signed ``token`` and its claims; ``ConfirmationError`` otherwise.

    ``keys``: Amtsweg's public keys by ``kid`` (``keys_by_id`` of ``GET /v1/keys``).
    """
    kid = str(_header(token.strip())["kid"])
    jwk = keys.get(kid)
    if jwk is None:
        raise ConfirmationError(f"signed with a key that is not among the given ones ({kid!r})")
    try:
        key = ECKey.import_key(dict(jwk))
        payload = jws.deserialize_compact(token.strip(), key, registry=_registry()).payload
    except JoseError as error:
        raise ConfirmationError(f"the signature does not verify ({error.error})") from error
    try:
        return kid, Confirmation.model_validate_json(payload)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfirmationError(f"the claims are malformed ({where}: {first['msg']})") from None
