"""Content-addressed blob store for payloads and attachments (claim check).

A blob's name is its SHA-512 (hex). Writes go to a temporary file that is renamed into
place only when complete, so a failed upload never leaves a readable blob. Kafka
messages and ledger events carry references and hashes, never the bytes of a large part.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

_SHA512 = re.compile(r"^[a-f0-9]{128}$")


class BlobNotFoundError(Exception):
    """No blob with this hash is stored."""


class BlobTooLargeError(Exception):
    """A blob exceeded the size limit while it was written."""


@dataclass(frozen=True)
class BlobRef:
    """A stored blob: its SHA-512 and size."""

    sha512: str
    size: int

    @property
    def reference(self) -> str:
        """The reference string carried in events and envelopes."""
        return f"blob:sha512:{self.sha512}"


class BlobStore:
    """Blobs as files under ``<root>/sha512/ab/cd/<hex>``."""

    def __init__(self, root: Path) -> None:
        self._root = root
        (root / "tmp").mkdir(parents=True, exist_ok=True)

    def path(self, sha512: str) -> Path:
        """Where a blob lives (whether or not it exists)."""
        if not _SHA512.fullmatch(sha512):
            msg = f"not a SHA-512 hex digest: {sha512!r}"
            raise ValueError(msg)
        return self._root / "sha512" / sha512[:2] / sha512[2:4] / sha512

    def put(self, content: bytes) -> BlobRef:
        """Store bytes."""
        digest = hashlib.sha512(content).hexdigest()
        target = self.path(digest)
        if not target.exists():
            self._commit(content, target)
        return BlobRef(digest, len(content))

    async def put_stream(self, chunks: AsyncIterator[bytes], max_size: int) -> BlobRef:
        """Store a stream without holding it in memory; ``BlobTooLargeError`` past ``max_size``."""
        digest = hashlib.sha512()
        size = 0
        handle, temp_name = tempfile.mkstemp(dir=self._root / "tmp")
        try:
            with os.fdopen(handle, "wb") as temp:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_size:
                        raise BlobTooLargeError(f"larger than {max_size} bytes")
                    digest.update(chunk)
                    temp.write(chunk)
                temp.flush()
                os.fsync(temp.fileno())
            target = self.path(digest.hexdigest())
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        return BlobRef(digest.hexdigest(), size)

    def read(self, sha512: str) -> bytes:
        """A blob's bytes; ``BlobNotFoundError`` if it is not stored."""
        try:
            return self.path(sha512).read_bytes()
        except FileNotFoundError as error:
            raise BlobNotFoundError(sha512) from error

    def exists(self, sha512: str) -> bool:
        """True if the blob is stored."""
        return self.path(sha512).exists()

    def _commit(self, content: bytes, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(dir=self._root / "tmp")
        try:
            with os.fdopen(handle, "wb") as temp:
                temp.write(content)
                temp.flush()
                os.fsync(temp.fileno())
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
