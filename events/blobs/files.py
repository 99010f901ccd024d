"""The default blob store: files under ``<root>/groups/<ab>/<group>/<item>``.

Writes go to a temporary file in ``<root>/tmp`` that is renamed into place only when
complete (after fsync), so a failed upload never leaves a readable blob. A group is one
folder, so erasing a submission's blobs is one ``rmtree``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from events.blobs.base import CHUNK, BlobNotFoundError, check_group, check_name


class FileBlobStore:
    """Blobs as files in a folder (the data dir's ``blobs`` by default).

    Paths are plain strings and files plain descriptors: a submission writes three blobs
    or more, and ``pathlib`` and buffered file objects cost more CPU than the write itself.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._groups = os.path.join(root, "groups")
        self._tmp = os.path.join(root, "tmp")
        os.makedirs(self._tmp, exist_ok=True)

    def path(self, name: str) -> Path:
        """Where a blob lives (whether or not it exists)."""
        return Path(self._file(name))

    def _file(self, name: str) -> str:
        group, item = check_name(name).split("/")
        return os.path.join(self._folder(group), item)

    def _folder(self, group: str) -> str:
        check_group(group)
        return os.path.join(self._groups, group[:2], group)

    def write(self, name: str, content: bytes) -> None:
        """Store bytes."""
        target = self._file(name)
        with _TempFile(self._tmp) as temp:
            temp.write(content)
            temp.commit(target)

    async def write_stream(self, name: str, chunks: AsyncIterator[bytes]) -> int:
        """Store a stream without holding it in memory."""
        target = self._file(name)
        size = 0
        with _TempFile(self._tmp) as temp:
            async for chunk in chunks:
                size += len(chunk)
                await asyncio.to_thread(temp.write, chunk)
            await asyncio.to_thread(temp.commit, target)
        return size

    def read(self, name: str) -> bytes:
        """A blob's bytes; ``BlobNotFoundError`` if it is not stored."""
        try:
            descriptor = os.open(self._file(name), os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError as error:
            raise BlobNotFoundError(name) from error
        try:
            parts = []
            while part := os.read(descriptor, READ_SIZE):
                parts.append(part)
        finally:
            os.close(descriptor)
        return b"".join(parts)

    def exists(self, name: str) -> bool:
        """True if the blob is stored."""
        return os.path.exists(self._file(name))

    async def stream(self, name: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        """A blob's bytes chunk by chunk (file reads in a worker thread)."""
        path = self._file(name)
        try:
            handle = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError as error:
            raise BlobNotFoundError(name) from error
        try:
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk
        finally:
            handle.close()

    def delete(self, name: str) -> None:
        """Delete one blob."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._file(name))

    def delete_group(self, group: str) -> int:
        """Delete the group's folder; how many blobs it held."""
        folder = self._folder(group)
        if not os.path.exists(folder):
            return 0
        count = len(os.listdir(folder))
        shutil.rmtree(folder)
        return count

    def groups(self) -> Iterator[str]:
        """Every group folder that holds a blob."""
        base = Path(self._groups)
        if not base.exists():
            return
        for shard in sorted(base.iterdir()):
            for folder in sorted(shard.iterdir()):
                if any(folder.iterdir()):
                    yield folder.name


READ_SIZE = 1024 * 1024
"""The bytes asked of each ``read`` of a blob read whole."""


class _TempFile:
    """A temporary file in ``folder`` that becomes a blob only by ``commit`` (fsync, then
    atomic rename); it is removed if it was not committed."""

    def __init__(self, folder: str) -> None:
        self._path = os.path.join(folder, secrets.token_hex(16))
        self._descriptor = os.open(self._path, _CREATE, 0o600)
        self._open = True
        self._committed = False

    def __enter__(self) -> _TempFile:
        return self

    def __exit__(self, *_: object) -> None:
        self._close()
        if not self._committed:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path)

    def write(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            view = view[os.write(self._descriptor, view) :]

    def commit(self, target: str) -> None:
        os.fsync(self._descriptor)
        self._close()
        try:
            os.replace(self._path, target)
        except FileNotFoundError:  # the group's first blob: its folder is new
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(self._path, target)
        self._committed = True

    def _close(self) -> None:
        if self._open:
            self._open = False
            os.close(self._descriptor)


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
