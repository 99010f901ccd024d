"""The default blob store: files under ``<root>/sha512/ab/cd/<hex>``.

Writes go to a temporary file in ``<root>/tmp`` that is renamed into place only when
complete (after fsync), so a failed upload never leaves a readable blob.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from events.blobs.base import CHUNK, BlobNotFoundError, BlobRef, check_sha512, check_size


class FileBlobStore:
    """Blobs as files in a folder (the data dir's ``blobs`` by default)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        (root / "tmp").mkdir(parents=True, exist_ok=True)

    def path(self, sha512: str) -> Path:
        """Where a blob lives (whether or not it exists)."""
        check_sha512(sha512)
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
                check_size(size, max_size)
                digest.update(chunk)
                await asyncio.to_thread(temp.write, chunk)
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

    async def stream(self, sha512: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        """A blob's bytes chunk by chunk (file reads in a worker thread)."""
        path = self.path(sha512)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError as error:
            raise BlobNotFoundError(sha512) from error
        try:
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk
        finally:
            handle.close()


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
