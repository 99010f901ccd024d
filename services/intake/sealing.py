"""Where an intake request's parts go: sealed into the submission's vault, or only hashed.

A request for a submission the ledger holds already (a retry with the same idempotency
key) needs no second copy: its parts are hashed, to tell a retry from a reused key, and
nothing is written. Otherwise each part is sealed with the submission's data key as it
arrives, and the dossier once the parts are in (in the request, not in the intake's
shared ledger transaction, so requests seal in parallel).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator
from uuid import UUID

from events.blobs import check_size
from events.vault import SealedPart, Vault
from services.intake.domain import IncomingSubmission, Part, hash_problems
from services.intake.errors import ProblemError


class PartSink:
    """Seals (``keep``) or only hashes one request's parts."""

    def __init__(self, vault: Vault, submission_id: UUID, *, keep: bool) -> None:
        self.submission_id = submission_id
        self._vault = vault
        self._keep = keep
        self.written: list[str] = []
        """The blobs sealed so far (to discard when the request fails on the way)."""

    @property
    def keeps(self) -> bool:
        """True if the parts are sealed (a new submission), False if only hashed (a retry)."""
        return self._keep

    def put(self, content: bytes) -> Part:
        """One part from memory."""
        if not self._keep:
            return Part(hashlib.sha512(content).hexdigest(), len(content))
        sealed = self._vault.put(self.submission_id, content)
        self.written.append(sealed.blob)
        return Part(sealed.sha512, sealed.size, sealed.blob)

    def adopt(self, sealed: SealedPart) -> Part:
        """A part sealed into the submission's vault before (streamed in elsewhere): kept
        as this request's, or deleted at once when only its hash is needed."""
        if not self._keep:
            self._vault.discard([sealed.blob])
            return Part(sealed.sha512, sealed.size)
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

    def seal_dossier(self, incoming: IncomingSubmission) -> IncomingSubmission:
        """The submission with its dossier sealed beside the parts (when they are kept).

        A 422 problem, and no dossier, when the parts are not what the metadata declares.
        """
        problems = hash_problems(incoming)
        if problems:
            raise ProblemError(422, problems)
        if not self._keep:
            return incoming
        sealed = self._vault.put_document(self.submission_id, incoming.dossier_of().document())
        self.written.append(sealed.blob)
        return dataclasses.replace(incoming, dossier=sealed.blob)

    def discard(self) -> None:
        """Delete what was sealed so far (the request failed before it was received)."""
        self._vault.discard(self.written)
        self.written.clear()
