"""A delivery picked up over FIT-Connect: the document delivery seals, and its attachments' JWEs.

An authority whose channel is FIT-Connect gets no envelope on a topic; its own FIT-Connect
client fetches the delivery. At dispatch, delivery seals a :class:`PickupDocument` in the
vault where an envelope would be (``Dispatched`` names it): the metadata as the sender sent
it and the data, each a JWE compact to the authority's key (``RSA-OAEP-256``/``A256GCM``,
the key's ``kid``), and for each attachment the key material of its JWE. An attachment may
be many MB, so its JWE is made while it is streamed (:func:`attachment_jwe`): AES-GCM runs
incrementally and JWE compact ends with the tag. The content key and IV are fixed at
dispatch, so every download of an attachment is the same JWE, byte for byte (the same
plaintext under the same key and IV; nothing else is ever encrypted with them).

A follow-up delivery (documents handed in later) to such an authority is a new submission
within the same case, as FIT-Connect has it: its document has no data, metadata whose
``contentStructure`` lists the attachments only, and ``supplementId`` set.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator
from typing import Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pydantic import BaseModel, ConfigDict, Field

from contracts.messages import JWE_ALG, JWE_ENC

_CEK_BYTES = 32  # A256GCM
_IV_BYTES = 12


class PickupAttachment(BaseModel):
    """One attachment: where its plaintext is sealed, and its JWE's key material."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    attachment_id: str = Field(alias="attachmentId")
    mime_type: str = Field(alias="mimeType")
    size: int
    sha512: str
    blob: str
    """The vault blob of the attachment's plaintext (the submission's sealed part)."""
    protected: str
    """The JWE's protected header, base64url (also its additional authenticated data)."""
    encrypted_key: str = Field(alias="encryptedKey")
    iv: str
    cek: str
    """The content encryption key, base64url (sealed in the vault with the document)."""


class PickupDocument(BaseModel):
    """What the authority's client fetches (version 1)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_version: Literal[1] = Field(default=1, alias="schemaVersion")
    delivery_id: str = Field(alias="deliveryId")
    submission_id: str = Field(alias="submissionId")
    authority_id: str = Field(alias="authorityId")
    kid: str
    service_type: dict[str, str] = Field(alias="serviceType")
    """FIT-Connect's ``ServiceType``: ``identifier``, and ``name`` if known."""
    encrypted_metadata: str = Field(alias="encryptedMetadata")
    encrypted_data: str | None = Field(default=None, alias="encryptedData")
    """None for a follow-up delivery: documents handed in later carry no data."""
    attachments: tuple[PickupAttachment, ...]
    supplement_id: str | None = Field(default=None, alias="supplementId")
    """Set for a follow-up delivery (documents handed in later): a submission of its own
    within the case, its FIT-Connect ``submissionId`` the follow-up delivery's id."""

    @property
    def pickup_id(self) -> str:
        """The ``submissionId`` FIT-Connect knows this delivery by."""
        return self.submission_id if self.supplement_id is None else self.delivery_id

    def attachment(self, attachment_id: str) -> PickupAttachment | None:
        """The attachment with this id, if the delivery has it."""
        return next((a for a in self.attachments if a.attachment_id == attachment_id), None)


def attachment_key_material(
    public_key: rsa.RSAPublicKey, kid: str, mime_type: str
) -> tuple[str, str, str, str]:
    """A fresh JWE's ``protected`` header, ``encryptedKey``, ``iv`` and ``cek`` (base64url)."""
    header = {"alg": JWE_ALG, "enc": JWE_ENC, "kid": kid, "cty": mime_type}
    protected = _b64(json.dumps(header, separators=(",", ":")).encode())
    cek = secrets.token_bytes(_CEK_BYTES)
    oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
    return (
        protected,
        _b64(public_key.encrypt(cek, oaep)),
        _b64(secrets.token_bytes(_IV_BYTES)),
        _b64(cek),
    )


async def attachment_jwe(
    attachment: PickupAttachment, plaintext: AsyncIterator[bytes]
) -> AsyncIterator[bytes]:
    """The attachment's JWE compact serialization, chunk by chunk, as ``plaintext`` streams."""
    encryptor = Cipher(
        algorithms.AES(_unb64(attachment.cek)), modes.GCM(_unb64(attachment.iv))
    ).encryptor()
    encryptor.authenticate_additional_data(attachment.protected.encode("ascii"))
    yield f"{attachment.protected}.{attachment.encrypted_key}.{attachment.iv}.".encode("ascii")
    pending = b""
    async for chunk in plaintext:
        pending += encryptor.update(chunk)
        whole = len(pending) - len(pending) % 3  # base64 without padding inside the stream
        if whole:
            yield _b64(pending[:whole]).encode("ascii")
            pending = pending[whole:]
    pending += encryptor.finalize()
    yield f"{_b64(pending)}.{_b64(encryptor.tag)}".encode("ascii")


def _b64(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode("ascii")


def _unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
