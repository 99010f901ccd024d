"""The blob store port: named, opaque objects grouped per submission.

A blob's name is ``<group>/<item>``: the group is a submission id, the item a random id,
so a name says nothing about the content (no hash of the plaintext, no deduplication
across submissions). The store holds only ciphertext (``events.vault`` encrypts before
anything is written) and knows nothing of keys. Every store makes a blob readable only
once it is completely written, so a failed or partial upload never leaves a blob; and
``delete_group`` removes all of a submission's blobs at once (erasure).
"""

from __future__ import annotations

import string
from collections.abc import AsyncIterator, Iterator
from typing import Protocol

CHUNK = 1024 * 1024
"""Default size of the chunks a store yields when a blob is read as a stream."""

_SEGMENT_CHARACTERS = string.ascii_lowercase + string.digits + "-"
MAX_SEGMENT = 64


class BlobNotFoundError(Exception):
    """No blob with this name is stored."""


class BlobTooLargeError(Exception):
    """A blob exceeded the size limit while it was written."""


class BlobStore(Protocol):
    """Where blobs live: a folder (default) or an S3-compatible bucket.

    ``write``, ``read``, ``exists``, ``delete_group`` and ``groups`` block (call them from a
    worker thread on a loop); ``write_stream`` and ``stream`` are asynchronous and hold at
    most a chunk or a part.
    """

    def write(self, name: str, content: bytes) -> None:
        """Store bytes under ``name`` (replacing a blob of that name)."""
        ...

    async def write_stream(self, name: str, chunks: AsyncIterator[bytes]) -> int:
        """Store a stream under ``name``; the bytes written. An error in ``chunks`` (also
        ``BlobTooLargeError``) propagates, and nothing is stored."""
        ...

    def read(self, name: str) -> bytes:
        """A blob's bytes; ``BlobNotFoundError`` if it is not stored."""
        ...

    def exists(self, name: str) -> bool:
        """True if the blob is stored."""
        ...

    def stream(self, name: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        """A blob's bytes chunk by chunk; ``BlobNotFoundError`` when iteration starts."""
        ...

    def delete(self, name: str) -> None:
        """Delete one blob (nothing happens when it is not stored)."""
        ...

    def delete_group(self, group: str) -> int:
        """Delete every blob of ``group``; how many there were (0 when none: idempotent)."""
        ...

    def groups(self) -> Iterator[str]:
        """Every group that holds at least one blob (for sweeping orphans)."""
        ...


def check_name(name: str) -> str:
    """``name`` if it is ``<group>/<item>``, each a segment (:func:`check_group`)."""
    group, slash, item = name.partition("/")
    if not (slash and _segment(group) and _segment(item)):
        msg = f"not a blob name (<group>/<item>): {name!r}"
        raise ValueError(msg)
    return name


def check_group(group: str) -> str:
    """``group`` if it is one segment: 1 to 64 lower-case ASCII letters, digits and dashes,
    not beginning with a dash."""
    if not _segment(group):
        msg = f"not a blob group: {group!r}"
        raise ValueError(msg)
    return group


def _segment(text: str) -> bool:
    # strip() removes the allowed characters from both ends: nothing is left when every
    # character is one of them (string methods: the blob store checks every name it sees)
    return 0 < len(text) <= MAX_SEGMENT and text[0] != "-" and not text.strip(_SEGMENT_CHARACTERS)


def check_size(size: int, max_size: int) -> None:
    """``BlobTooLargeError`` once ``size`` exceeds ``max_size``."""
    if size > max_size:
        msg = f"larger than {max_size} bytes"
        raise BlobTooLargeError(msg)
