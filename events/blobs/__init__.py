"""Content-addressed blob store for payloads and attachments (claim check).

``BlobStore`` is the port; ``FileBlobStore`` (default) and ``S3BlobStore`` are its
adapters, chosen by ``BlobSettings`` through ``open_blob_store``.
"""

from events.blobs.base import (
    CHUNK,
    BlobNotFoundError,
    BlobRef,
    BlobStore,
    BlobTooLargeError,
)
from events.blobs.files import FileBlobStore
from events.blobs.settings import BlobSettings, open_blob_store

__all__ = [
    "CHUNK",
    "BlobNotFoundError",
    "BlobRef",
    "BlobSettings",
    "BlobStore",
    "BlobTooLargeError",
    "FileBlobStore",
    "open_blob_store",
]
