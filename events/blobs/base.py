"""The blob store port: content-addressed storage for payloads and attachments (claim check).

A blob's name is its SHA-512 (hex). Kafka messages and ledger events carry references
and hashes, never the bytes of a large part. Every store makes a blob readable only once
it is complete under its hash, so a failed or partial upload never leaves a blob that
could be delivered.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

CHUNK = 1024 * 1024
"""Default size of the chunks a store yields when a blob is read as a stream."""

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


class BlobStore(Protocol):
    """Where blobs live: a folder (default) or an S3-compatible bucket.

    ``put``, ``read`` and ``exists`` block (call them from a worker thread on a loop);
    ``put_stream`` and ``stream`` are asynchronous and hold at most a chunk or a part.
    """

    def put(self, content: bytes) -> BlobRef:
        """Store bytes (storing the same bytes again changes nothing)."""
        ...

    async def put_stream(self, chunks: AsyncIterator[bytes], max_size: int) -> BlobRef:
        """Store a stream; ``BlobTooLargeError`` past ``max_size``, and nothing is stored."""
        ...

    def read(self, sha512: str) -> bytes:
        """A blob's bytes; ``BlobNotFoundError`` if it is not stored."""
        ...

    def exists(self, sha512: str) -> bool:
        """True if the blob is stored."""
        ...

    def stream(self, sha512: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        """A blob's bytes chunk by chunk; ``BlobNotFoundError`` when iteration starts."""
        ...


def check_sha512(sha512: str) -> str:
    """``sha512`` if it is a lower-case hex SHA-512; ``ValueError`` otherwise."""
    if not _SHA512.fullmatch(sha512):
        msg = f"not a SHA-512 hex digest: {sha512!r}"
        raise ValueError(msg)
    return sha512


def check_size(size: int, max_size: int) -> None:
    """``BlobTooLargeError`` once ``size`` exceeds ``max_size``."""
    if size > max_size:
        msg = f"larger than {max_size} bytes"
        raise BlobTooLargeError(msg)
