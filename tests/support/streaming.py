"""Large request bodies that are never held whole: generated parts, streamed multipart.

Also what a test needs to watch a server process from outside: its peak memory
(``VmHWM`` in ``/proc/<pid>/status``) and the files it holds open.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

MiB = 1024 * 1024
_BLOCK = hashlib.shake_256(b"amtsweg synthetic attachment").digest(MiB)


@dataclass(frozen=True)
class GeneratedContent:
    """``size`` bytes made on the fly, 1 MiB at a time, the same bytes on every pass."""

    size: int

    async def chunks(self) -> AsyncIterator[bytes]:
        for index, start in enumerate(range(0, self.size, MiB)):
            block = index.to_bytes(8, "big") + _BLOCK[8:]  # no two blocks alike
            yield block[: min(MiB, self.size - start)]

    async def sha512(self) -> str:
        digest = hashlib.sha512()
        async for chunk in self.chunks():
            digest.update(chunk)
        return digest.hexdigest()


@dataclass(frozen=True)
class StreamedPart:
    """One part of a multipart body: a small value or generated content."""

    name: str
    content: bytes | GeneratedContent
    content_type: str
    filename: str | None = None

    def head(self, boundary: str) -> bytes:
        disposition = f'form-data; name="{self.name}"'
        if self.filename is not None:
            disposition += f'; filename="{self.filename}"'
        return (
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
            f"Content-Type: {self.content_type}\r\n\r\n"
        ).encode()

    @property
    def size(self) -> int:
        return len(self.content) if isinstance(self.content, bytes) else self.content.size


@dataclass(frozen=True)
class StreamedMultipart:
    """A ``multipart/form-data`` body produced part by part, chunk by chunk."""

    parts: list[StreamedPart]
    boundary: str = "amtsweg-" + "5f1e0c2a9b7d4e36"

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        heads = sum(len(p.head(self.boundary)) + p.size + 2 for p in self.parts)
        return heads + len(self._tail())

    async def body(self, stop_after: int | None = None) -> AsyncIterator[bytes]:
        """The body; with ``stop_after``, only (about) that many bytes of it."""
        sent = 0
        for part in self.parts:
            async for chunk in self._part(part):
                yield chunk
                sent += len(chunk)
                if stop_after is not None and sent >= stop_after:
                    return
        yield self._tail()

    async def _part(self, part: StreamedPart) -> AsyncIterator[bytes]:
        yield part.head(self.boundary)
        if isinstance(part.content, bytes):
            yield part.content
        else:
            async for chunk in part.content.chunks():
                yield chunk
        yield b"\r\n"

    def _tail(self) -> bytes:
        return f"--{self.boundary}--\r\n".encode()


def memory_kib(pid: int) -> dict[str, int]:
    """``VmHWM`` (peak resident set) and ``VmRSS`` of a process, in KiB."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            figures[name] = int(value.split()[0])
    return figures


def open_files_under(pid: int, folder: Path) -> list[str]:
    """The files (also deleted or anonymous ones) that ``pid`` holds open inside ``folder``."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = str(fd.readlink())
        except FileNotFoundError:  # closed while we looked
            continue
        if target.startswith(str(folder) + os.sep):
            found.append(target)
    return found
