"""Where an intake request's parts go: sealed into the submission's vault, or only hashed.

A request for a submission the ledger holds already (a retry with the same idempotency
key) needs no second copy: its parts are hashed, to tell a retry from a reused key, and
nothing is written. Otherwise each part is sealed with the submission's data key as it
arrives; the dossier follows when the submission is recorded (``services.intake.receive``).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from uuid import UUID

from events.blobs import check_size
from events.vault import Vault
from services.intake.domain import Part


class PartSink:
    """Seals (``keep``) or only hashes one request's parts."""

    def __init__(self, vault: Vault, submission_id: UUID, *, keep: bool) -> None:
        self.submission_id = submission_id
        self._vault = vault
        self._keep = keep
        self.written: list[str] = []
        """The blobs sealed so far (to discard when the request fails on the way)."""

    def put(self, content: bytes) -> Part:
        """One part from memory."""
        if not self._keep:
            return Part(hashlib.sha512(content).hexdigest(), len(content))
        sealed = self._vault.put(self.submission_id, content)
        self.written.append(sealed.blob)
        return Part(sealed.sha512, sealed.size, sealed.blob)

    async def put_stream(self, chunks: AsyncIterator[bytes], max_size: int) -> Part:
        """One part as it arrives; ``BlobTooLargeError`` past ``max_size``."""
        if self._keep:
            sealed = await self._vault.put_stream(self.submission_id, chunks, max_size)
            self.written.append(sealed.blob)
            return Part(sealed.sha512, sealed.size, sealed.blob)
        digest, size = hashlib.sha512(), 0
        async for chunk in chunks:
            size += len(chunk)
            check_size(size, max_size)
            digest.update(chunk)
        return Part(digest.hexdigest(), size)

    def discard(self) -> None:
        """Delete what was sealed so far (the request failed before it was received)."""
        self._vault.discard(self.written)
        self.written.clear()
