"""From an envelope to the application: decrypt, fetch referenced parts, check every hash.

A follow-up delivery (documents handed in later, ``contracts.replies.SupplementEnvelope``)
is unpacked the same way (:func:`unpack_supplement`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from contracts.messages import DeliveryEnvelope, DeliveryEnvelopeV1, PayloadPart, PayloadPartV1
from contracts.replies import SupplementEnvelope
from receiver.keys import Decrypter, DecryptionError

Fetch = Callable[[str], Awaitable[bytes]]
"""Fetches a part reference (URL) with the authority's token."""


class ReceiverError(Exception):
    """The receiver cannot go on (a wrong key, a failing fetch or command): fix and restart."""


class HashMismatchError(Exception):
    """A part's bytes do not match its SHA-512: the delivery is rejected."""

    def __init__(self, part_id: str, reason: str) -> None:
        super().__init__(f"part {part_id}: {reason}")
        self.part_id = part_id


@dataclass(frozen=True)
class Part:
    """One part's checked plaintext."""

    part_id: str
    mime_type: str
    sha512: str
    content: bytes
    filename: str | None


@dataclass(frozen=True)
class Application:
    """The delivered application, decrypted and checked."""

    envelope: DeliveryEnvelope | DeliveryEnvelopeV1
    metadata: dict[str, Any]
    parts: list[Part]


async def unpack(
    envelope: DeliveryEnvelope | DeliveryEnvelopeV1, decrypter: Decrypter | None, fetch: Fetch
) -> Application:
    """Decrypt and check everything; ``HashMismatchError`` or ``ReceiverError`` otherwise."""
    encrypted = isinstance(envelope, DeliveryEnvelope) and envelope.encryption is not None
    if encrypted and decrypter is None:
        raise ReceiverError(f"delivery {envelope.delivery_id} is encrypted: give --key")
    opener = _Opener(envelope.delivery_id, decrypter if encrypted else None)
    if isinstance(envelope, DeliveryEnvelope) and envelope.encrypted_metadata is not None:
        metadata = json.loads(opener.open(envelope.encrypted_metadata))
    else:
        metadata = dict(envelope.metadata or {})
    filenames = _filenames(metadata)
    parts = []
    for part in [envelope.data, *envelope.attachments]:
        content = await _content(part, opener, fetch)
        _check(part, content)
        filename = part.filename or filenames.get(part.part_id)
        parts.append(Part(part.part_id, part.mime_type, part.sha512, content, filename))
    return Application(envelope, metadata, parts)


@dataclass(frozen=True)
class SupplementDocuments:
    """Documents handed in later, decrypted and checked."""

    envelope: SupplementEnvelope
    metadata: dict[str, Any]
    """The portal's note, the request it answers and each document's file name."""
    parts: list[Part]


async def unpack_supplement(
    envelope: SupplementEnvelope, decrypter: Decrypter | None, fetch: Fetch
) -> SupplementDocuments:
    """Decrypt and check a follow-up delivery; ``HashMismatchError`` or ``ReceiverError``."""
    encrypted = envelope.encryption is not None
    if encrypted and decrypter is None:
        raise ReceiverError(f"delivery {envelope.delivery_id} is encrypted: give --key")
    opener = _Opener(envelope.delivery_id, decrypter if encrypted else None)
    if envelope.encrypted_metadata is not None:
        metadata = json.loads(opener.open(envelope.encrypted_metadata))
    else:
        metadata = dict(envelope.metadata or {})
    if not isinstance(metadata, dict):
        raise ReceiverError(f"delivery {envelope.delivery_id}: the metadata is not an object")
    attachments = metadata.get("attachments")
    filenames = _filenames({"contentStructure": {"attachments": attachments or []}})
    parts = []
    for part in envelope.attachments:
        content = await _content(part, opener, fetch)
        _check(part, content)
        filename = part.filename or filenames.get(part.part_id)
        parts.append(Part(part.part_id, part.mime_type, part.sha512, content, filename))
    return SupplementDocuments(envelope, metadata, parts)


class _Opener:
    """Turns a delivered value into bytes: base64-decodes it, or decrypts its JWE."""

    def __init__(self, delivery_id: str, decrypter: Decrypter | None) -> None:
        self._delivery_id = delivery_id
        self._decrypter = decrypter
        self.encrypted = decrypter is not None

    def open(self, value: str) -> bytes:
        if self._decrypter is None:
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError) as error:
                msg = f"delivery {self._delivery_id}: content is not base64"
                raise ReceiverError(msg) from error
        try:
            return self._decrypter.decrypt(value)
        except DecryptionError as error:
            kid = self._decrypter.kid
            msg = f"cannot decrypt delivery {self._delivery_id} with key {kid!r}: {error}"
            raise ReceiverError(msg) from error


async def _content(part: PayloadPart | PayloadPartV1, opener: _Opener, fetch: Fetch) -> bytes:
    if part.content is not None:
        return opener.open(part.content)
    assert part.reference is not None
    if part.reference.startswith("blob:"):
        raise ReceiverError(f"part {part.part_id}: a version 1 blob reference is not fetchable")
    fetched = await fetch(part.reference)
    if not opener.encrypted:
        return fetched
    try:
        return opener.open(fetched.decode("ascii"))
    except UnicodeDecodeError as error:
        raise ReceiverError(f"part {part.part_id}: the fetched JWE is not text") from error


def _check(part: PayloadPart | PayloadPartV1, content: bytes) -> None:
    if len(content) != part.size:
        raise HashMismatchError(part.part_id, f"{len(content)} bytes, expected {part.size}")
    if not hmac.compare_digest(hashlib.sha512(content).hexdigest(), part.sha512):
        raise HashMismatchError(part.part_id, "SHA-512 does not match")


def _filenames(metadata: dict[str, Any]) -> dict[str, str]:
    structure = metadata.get("contentStructure")
    attachments = structure.get("attachments", []) if isinstance(structure, dict) else []
    return {
        a["attachmentId"]: a["filename"]
        for a in attachments
        if isinstance(a, dict) and isinstance(a.get("filename"), str) and "attachmentId" in a
    }
