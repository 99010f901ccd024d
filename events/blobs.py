"""Content-addressed blob store for payloads and attachments (claim check).

A blob's name is its SHA-512 (hex). Writes go to a temporary file that is renamed into
place only when complete, so a failed upload never leaves a readable blob. Kafka
messages and ledger events carry references and hashes, never the bytes of a large part.
"""

from __future__ import annotations

import asyncio
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
        ref = BlobRef(hashlib.sha512(content).hexdigest(), len(content))
        target = self.path(ref.sha512)
        if not target.exists():
            with _TempFile(self._root / "tmp") as temp:
                temp.write(content)
                temp.commit(target)
        return ref

    async def put_stream(self, chunks: AsyncIterator[bytes], max_size: int) -> BlobRef:
        """Store a stream without holding it in memory; ``BlobTooLargeError`` past ``max_size``."""
        digest = hashlib.sha512()
        size = 0
        with _TempFile(self._root / "tmp") as temp:
            async for chunk in chunks:
                size += len(chunk)
                _check_size(size, max_size)
                digest.update(chunk)
                temp.write(chunk)
            ref = BlobRef(digest.hexdigest(), size)
            await asyncio.to_thread(temp.commit, self.path(ref.sha512))
        return ref

    def read(self, sha512: str) -> bytes:
        """A blob's bytes; ``BlobNotFoundError`` if it is not stored."""
        try:
            return self.path(sha512).read_bytes()
        except FileNotFoundError as error:
            raise BlobNotFoundError(sha512) from error

    def exists(self, sha512: str) -> bool:
        """True if the blob is stored."""
        return self.path(sha512).exists()


def _check_size(size: int, max_size: int) -> None:
    if size > max_size:
        msg = f"larger than {max_size} bytes"
        raise BlobTooLargeError(msg)


class _TempFile:
    """A temporary file that becomes a blob only by ``commit`` (fsync, then atomic rename)."""

    def __init__(self, folder: Path) -> None:
        handle, name = tempfile.mkstemp(dir=folder)
        self._path = Path(name)
        self._file = os.fdopen(handle, "wb")
        self._committed = False

    def __enter__(self) -> _TempFile:
        return self

    def __exit__(self, *_: object) -> None:
        self._file.close()
        if not self._committed:
            self._path.unlink(missing_ok=True)

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)

    def commit(self, target: Path) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        target.parent.mkdir(parents=True, exist_ok=True)
        self._path.replace(target)
        self._committed = True
