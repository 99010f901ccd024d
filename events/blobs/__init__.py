"""The blob store for sealed content: named, opaque objects grouped per submission.

``BlobStore`` is the port; ``FileBlobStore`` (default) and ``S3BlobStore`` are its
adapters, chosen by ``BlobSettings`` through ``open_blob_store``. What goes in is already
encrypted (``events.vault``).
"""

from events.blobs.base import (
    CHUNK,
    BlobNotFoundError,
    BlobStore,
    BlobTooLargeError,
    check_size,
)
from events.blobs.files import FileBlobStore
from events.blobs.settings import BlobSettings, open_blob_store

__all__ = [
    "CHUNK",
    "BlobNotFoundError",
    "BlobSettings",
    "BlobStore",
    "BlobTooLargeError",
    "FileBlobStore",
    "check_size",
    "open_blob_store",
]
