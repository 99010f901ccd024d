"""The vault: a submission's content, sealed with its own data key, in the blob store.

Everything that says something about the applicant lives here and nowhere else: the
data and attachments, the metadata as sent, the routing hint, the routing keys found in
the data, and each delivery envelope. The ledger's events hold only the blob names, the
plaintext hashes and sizes. Erasing a submission destroys its data key first (from then
on nothing of it can be opened), then deletes its blobs: a crash in between leaves
nothing readable, and running the erasure again completes it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from events.blobs import BlobNotFoundError, BlobStore, check_size
from events.lifecycle import ContentErasedError
from events.vault.cipher import SealError, open_sealed, open_stream, seal, seal_stream
from events.vault.keystore import KeyStore


@dataclass(frozen=True)
class SealedPart:
    """A part stored in the vault: its blob, and the hash and size of its plaintext."""

    blob: str
    sha512: str
    size: int


@dataclass(frozen=True)
class Erasure:
    """What an erasure destroyed."""

    key_destroyed: bool
    """False when the key was destroyed before (an erasure run again)."""
    blobs_deleted: int


class Vault:
    """Sealed content per submission: the key store and the blob store together."""

    def __init__(self, keys: KeyStore, blobs: BlobStore) -> None:
        self.keys = keys
        self.blobs = blobs

    def put(self, submission_id: UUID, content: bytes) -> SealedPart:
        """Seal and store bytes."""
        name = _new_name(submission_id)
        self.blobs.write(name, seal(self.keys.create(submission_id), name, content))
        return SealedPart(name, hashlib.sha512(content).hexdigest(), len(content))

    async def put_stream(
        self, submission_id: UUID, chunks: AsyncIterator[bytes], max_size: int
    ) -> SealedPart:
        """Seal and store a stream; ``BlobTooLargeError`` past ``max_size`` (nothing stored)."""
        name = _new_name(submission_id)
        key = self.keys.create(submission_id)
        digest = hashlib.sha512()
        size = 0

        async def counted() -> AsyncIterator[bytes]:
            nonlocal size
            async for chunk in chunks:
                size += len(chunk)
                check_size(size, max_size)
                digest.update(chunk)
                yield chunk

        await self.blobs.write_stream(name, seal_stream(key, name, counted()))
        return SealedPart(name, digest.hexdigest(), size)

    def put_document(self, submission_id: UUID, document: Any) -> SealedPart:
        """Seal and store a JSON document."""
        return self.put(submission_id, json.dumps(document, ensure_ascii=False).encode())

    def put_envelope(self, submission_id: UUID, envelope: bytes) -> dict[str, str]:
        """Seal a delivery envelope (its JSON as published); the reference its event records."""
        part = self.put(submission_id, envelope)
        return {"blob": part.blob, "sha256": hashlib.sha256(envelope).hexdigest()}

    def read(self, submission_id: UUID, blob: str) -> bytes:
        """The plaintext of a blob (``ContentErasedError`` once erased)."""
        _check_owner(submission_id, blob)
        key = self.keys.data_key(submission_id)
        try:
            sealed = self.blobs.read(blob)
        except BlobNotFoundError:
            self._erased_meanwhile(submission_id)
            raise
        return open_sealed(key, blob, sealed)

    def read_document(self, submission_id: UUID, blob: str) -> Any:
        """A sealed JSON document."""
        return json.loads(self.read(submission_id, blob))

    async def stream(self, submission_id: UUID, blob: str) -> AsyncIterator[bytes]:
        """The plaintext of a blob, segment by segment (each authenticated before it is given)."""
        _check_owner(submission_id, blob)
        key = self.keys.data_key(submission_id)
        try:
            async for chunk in open_stream(key, blob, self.blobs.stream(blob)):
                yield chunk
        except BlobNotFoundError:
            self._erased_meanwhile(submission_id)
            raise

    def _erased_meanwhile(self, submission_id: UUID) -> None:
        """``ContentErasedError`` if another process erased the submission (its blob is gone)."""
        self.keys.forget_cached(submission_id)
        if self.keys.state(submission_id).destroyed_at is not None:
            raise ContentErasedError(str(submission_id))

    def envelope(self, submission_id: UUID, reference: dict[str, Any]) -> bytes | None:
        """A delivery's sealed envelope as published (``outbox.OpenEnvelope``); None once erased.

        ``SealError`` when the envelope does not match the ``sha256`` its event recorded.
        """
        try:
            envelope = self.read(submission_id, reference["blob"])
        except ContentErasedError:
            return None
        if hashlib.sha256(envelope).hexdigest() != reference["sha256"]:
            msg = f"the envelope {reference['blob']} differs from the one its event recorded"
            raise SealError(msg)
        return envelope

    def exists(self, submission_id: UUID, blob: str) -> bool:
        """True if the blob is stored and the submission's key is live."""
        _check_owner(submission_id, blob)
        return self.keys.state(submission_id).live and self.blobs.exists(blob)

    def discard(self, blobs: Iterable[str]) -> None:
        """Delete blobs written for a request that was refused or turned out a retry."""
        for blob in blobs:
            self.blobs.delete(blob)

    def is_erased(self, submission_id: UUID) -> bool:
        """True once the submission's data key is destroyed."""
        return self.keys.state(submission_id).destroyed_at is not None

    def erase(self, submission_id: UUID) -> Erasure:
        """Destroy the data key, then delete every blob of the submission."""
        destroyed = self.keys.destroy(submission_id)
        deleted = self.blobs.delete_group(str(submission_id))
        return Erasure(destroyed, deleted)


def _new_name(submission_id: UUID) -> str:
    return f"{submission_id}/{uuid.uuid4().hex}"


def _check_owner(submission_id: UUID, blob: str) -> None:
    if not blob.startswith(f"{submission_id}/"):
        msg = f"blob {blob} does not belong to submission {submission_id}"
        raise ValueError(msg)
