"""Messages on Kafka: ledger events as published (v1), deliveries (v2), receipts (v1)."""

from __future__ import annotations

import json
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.problems import Problem


class SubmissionEventMessage(BaseModel):
    """A ledger event as the relay publishes it on ``amtsweg.submissions.<event>`` (version 2).

    Key: the submission id. A notice, not a payload: which submission, which event, at
    which version of its trail; a stage loads the submission from the ledger. It carries
    the event's chain hash so a consumer can tell a repeated message from a new event.
    Version 1 also carried the event's fields (``data``); readers ignore it.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_version: Literal[1, 2] = Field(default=2, alias="schemaVersion")
    submission_id: str = Field(alias="submissionId")
    event: str
    version: int
    timestamp: str
    hash: str


class PayloadPartV1(BaseModel):
    """Version 1 of a delivered part (read-only: Amtsweg now sends version 2)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    part_id: str = Field(alias="partId", description="'data' or the attachmentId")
    mime_type: str = Field(alias="mimeType")
    size: int
    sha512: str
    content: str | None = Field(default=None, description="base64, when inline")
    reference: str | None = Field(default=None, description="blob reference, when not inline")
    filename: str | None = None


class DeliveryEnvelopeV1(BaseModel):
    """Version 1 of the delivery envelope: plaintext only, blob references not fetchable.

    Kept so that receivers can still read deliveries published before version 2.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_version: Literal[1] = Field(default=1, alias="schemaVersion")
    delivery_id: str = Field(alias="deliveryId")
    submission_id: str = Field(alias="submissionId")
    authority_id: str = Field(alias="authorityId")
    service_identifier: str = Field(alias="serviceIdentifier")
    metadata: dict[str, object]
    data: PayloadPartV1
    attachments: list[PayloadPartV1] = Field(default_factory=list)
    dispatched_at: str = Field(alias="dispatchedAt")


JWE_ALG: Final = "RSA-OAEP-256"
"""Key management of encrypted deliveries (RFC 7518 4.3), as FIT-Connect uses it."""
JWE_ENC: Final = "A256GCM"
"""Content encryption of encrypted deliveries (RFC 7518 5.3)."""


class Encryption(BaseModel):
    """How a delivery's metadata and parts are encrypted: JWE compact, one key per authority."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    alg: Literal["RSA-OAEP-256"] = JWE_ALG
    enc: Literal["A256GCM"] = JWE_ENC
    kid: str = Field(description="the 'kid' of the authority's public key (JWK)")


class PayloadPart(BaseModel):
    """Data or one attachment of a delivery (version 2).

    Exactly one of ``content`` and ``reference``. ``content`` is base64 of the bytes, or,
    when the envelope names an ``encryption``, a JWE compact serialization of them.
    ``reference`` is a URL (relative to the Amtsweg API unless absolute) that answers the
    bytes, or a JWE (``application/jose``) when encrypted, to the addressed authority's
    bearer token. ``sha512`` is always the hash of the plaintext bytes: check it.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    part_id: str = Field(alias="partId", description="'data' or the attachmentId")
    mime_type: str = Field(alias="mimeType")
    size: int = Field(ge=0, description="bytes of the plaintext")
    sha512: str = Field(pattern=r"^[a-f0-9]{128}$", description="SHA-512 (hex) of the plaintext")
    content: str | None = Field(default=None, description="base64, or JWE when encrypted")
    reference: str | None = Field(default=None, description="URL to fetch the part from")
    filename: str | None = Field(
        default=None, description="only when not encrypted (else in the encrypted metadata)"
    )

    @model_validator(mode="after")
    def _content_or_reference(self) -> PayloadPart:
        if (self.content is None) == (self.reference is None):
            msg = "exactly one of content and reference"
            raise ValueError(msg)
        return self


class Href(BaseModel):
    """A link."""

    model_config = ConfigDict(frozen=True)

    href: str


class DeliveryLinks(BaseModel):
    """Where the authority fetches the delivery again and posts its receipt."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    self_: Href = Field(alias="self")
    receipt: Href


class DeliveryEnvelope(BaseModel):
    """What a receiving authority gets on ``amtsweg.delivery.<authority-id>`` (version 2).

    Version 2 because encryption changes the meaning of fields a version 1 reader would
    misread: ``content`` may be a JWE instead of base64, the metadata may be encrypted, and
    ``reference`` is a fetchable URL instead of an internal blob name.

    ``deliveryId`` is stable across redeliveries and reminders: receivers dedupe on it.
    With ``encryption``, the FIT-Connect metadata travels only as ``encryptedMetadata``
    (JWE of its JSON) and every part's ``content`` is a JWE; without it, ``metadata`` is
    plain and ``content`` is base64.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_version: Literal[2] = Field(default=2, alias="schemaVersion")
    delivery_id: str = Field(alias="deliveryId")
    submission_id: str = Field(alias="submissionId")
    authority_id: str = Field(alias="authorityId")
    service_identifier: str = Field(alias="serviceIdentifier")
    encryption: Encryption | None = None
    metadata: dict[str, object] | None = None
    encrypted_metadata: str | None = Field(default=None, alias="encryptedMetadata")
    data: PayloadPart
    attachments: list[PayloadPart] = Field(default_factory=list)
    dispatched_at: str = Field(alias="dispatchedAt")
    receipt_topic: str = Field(alias="receiptTopic")
    links: DeliveryLinks = Field(alias="_links")

    @model_validator(mode="after")
    def _metadata_matches_encryption(self) -> DeliveryEnvelope:
        encrypted = self.encryption is not None
        if encrypted != (self.encrypted_metadata is not None) or encrypted == (
            self.metadata is not None
        ):
            msg = "encrypted envelopes carry only encryptedMetadata, plain ones only metadata"
            raise ValueError(msg)
        return self

    def parts(self) -> list[PayloadPart]:
        """The data, then the attachments."""
        return [self.data, *self.attachments]


def parse_envelope(raw: bytes | str) -> DeliveryEnvelope | DeliveryEnvelopeV1:
    """Read a message of an authority's delivery topic (version 2, or 1 from before)."""
    document = json.loads(raw)
    if isinstance(document, dict) and document.get("schemaVersion") == 1:
        return DeliveryEnvelopeV1.model_validate(document)
    return DeliveryEnvelope.model_validate(document)


class CallbackDelivery(BaseModel):
    """One delivery a callback announces: where to fetch it and what to dedupe on."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    delivery_id: str = Field(alias="deliveryId")
    submission_id: str = Field(alias="submissionId")
    authority_id: str = Field(alias="authorityId")
    notice: int = Field(ge=0, description="0 for the first notice, n for the n-th reminder")
    topic: str
    href: str = Field(description="GET it with the authority's token")


CALLBACK_TYPE: Final = "https://amtsweg.de/callbacks/new-deliveries"


class CallbackNotice(BaseModel):
    """The body of a callback POST (FIT-Connect style: a notice, never the payload).

    Signed with the headers ``callback-timestamp`` (Unix seconds) and
    ``callback-authentication``: hex HMAC-SHA512 over ``<timestamp>.<body>`` with the
    authority's callback secret (see :mod:`contracts.callbacks`).
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    type: Literal["https://amtsweg.de/callbacks/new-deliveries"] = CALLBACK_TYPE
    deliveries: list[CallbackDelivery]


ReceiptOutcome = Literal["accepted", "rejected", "not-responsible"]


class Receipt(BaseModel):
    """An authority's answer to a delivery, on ``amtsweg.delivery.receipts``.

    Sent as this JSON, or signed: a JWS compact serialization whose payload is this JSON
    (see :mod:`contracts.receipts`). When the directory holds the authority's
    verification key, only a correctly signed receipt counts.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_version: Literal[1] = Field(default=1, alias="schemaVersion")
    delivery_id: str = Field(alias="deliveryId")
    submission_id: str = Field(alias="submissionId")
    authority_id: str = Field(alias="authorityId")
    outcome: ReceiptOutcome
    problems: list[Problem] = Field(default_factory=list)
    reference: str | None = Field(default=None, description="the authority's own file number")
