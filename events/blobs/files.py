"""The default blob store: files under ``<root>/groups/<ab>/<group>/<item>``.

Writes go to a temporary file in ``<root>/tmp`` that is renamed into place only when
complete (after fsync), so a failed upload never leaves a readable blob. A group is one
folder, so erasing a submission's blobs is one ``rmtree``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from events.blobs.base import CHUNK, BlobNotFoundError, check_group, check_name


class FileBlobStore:
    """Blobs as files in a folder (the data dir's ``blobs`` by default)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        (root / "tmp").mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        """Where a blob lives (whether or not it exists)."""
        group, item = check_name(name).split("/")
        return self._folder(group) / item

    def _folder(self, group: str) -> Path:
        check_group(group)
        return self._root / "groups" / group[:2] / group

    def write(self, name: str, content: bytes) -> None:
        """Store bytes."""
        target = self.path(name)
        with _TempFile(self._root / "tmp") as temp:
            temp.write(content)
            temp.commit(target)

    async def write_stream(self, name: str, chunks: AsyncIterator[bytes]) -> int:
        """Store a stream without holding it in memory."""
        target = self.path(name)
        size = 0
        with _TempFile(self._root / "tmp") as temp:
            async for chunk in chunks:
                size += len(chunk)
                await asyncio.to_thread(temp.write, chunk)
            await asyncio.to_thread(temp.commit, target)
        return size

    def read(self, name: str) -> bytes:
        """A blob's bytes; ``BlobNotFoundError`` if it is not stored."""
        try:
            return self.path(name).read_bytes()
        except FileNotFoundError as error:
            raise BlobNotFoundError(name) from error

    def exists(self, name: str) -> bool:
        """True if the blob is stored."""
        return self.path(name).exists()

    async def stream(self, name: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        """A blob's bytes chunk by chunk (file reads in a worker thread)."""
        path = self.path(name)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError as error:
            raise BlobNotFoundError(name) from error
        try:
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk
        finally:
            handle.close()

    def delete(self, name: str) -> None:
        """Delete one blob."""
        self.path(name).unlink(missing_ok=True)

    def delete_group(self, group: str) -> int:
        """Delete the group's folder; how many blobs it held."""
        folder = self._folder(group)
        if not folder.exists():
            return 0
        count = sum(1 for _ in folder.iterdir())
        shutil.rmtree(folder)
        return count

    def groups(self) -> Iterator[str]:
        """Every group folder that holds a blob."""
        base = self._root / "groups"
        if not base.exists():
            return
        for shard in sorted(base.iterdir()):
            for folder in sorted(shard.iterdir()):
                if any(folder.iterdir()):
                    yield folder.name


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
