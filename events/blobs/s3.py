"""An S3-compatible blob store (AWS S3, MinIO, Ceph RGW, …): ``<prefix>sha512/<hex>``.

A stream that fits in one part is hashed before anything is written and stored with one
``PutObject`` under its final key. A longer stream goes as a multipart upload (parts of
``part_size``, hashed while streaming) to a temporary key ``<prefix>tmp/<uuid>``, because
S3 fixes an object's key when the upload starts and the SHA-512 is known only at its end.
Only after ``CompleteMultipartUpload`` is the object copied (server-side) under its hash,
and the temporary object deleted. On an error or past the size limit the upload is
aborted; S3 never shows an incomplete multipart upload, so no blob exists under a hash
that was not completely received. Give the bucket a lifecycle rule for ``<prefix>tmp/``
(expire after a day, abort incomplete multipart uploads) for a process killed mid-upload.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import structlog
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from events.blobs.base import CHUNK, BlobNotFoundError, BlobRef, check_sha512, check_size

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3.client import S3Client

log = structlog.get_logger(__name__)

MiB = 1024 * 1024
PART_SIZE = 8 * MiB
MIN_PART_SIZE = 5 * MiB
"""S3's smallest part (except the last)."""
COPY_THRESHOLD = 1024 * MiB
"""Objects larger than this are copied as a multipart copy (``CopyObject`` ends at 5 GiB)."""

_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3BlobStore:
    """Blobs as objects in a bucket, under an optional key prefix."""

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        prefix: str = "",
        part_size: int = PART_SIZE,
        copy_threshold: int = COPY_THRESHOLD,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            msg = f"S3 parts must be at least {MIN_PART_SIZE} bytes"
            raise ValueError(msg)
        self._client = client
        self._bucket = bucket
        self._prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._part_size = part_size
        self._copy = TransferConfig(
            multipart_threshold=copy_threshold, multipart_chunksize=max(copy_threshold, part_size)
        )

    def key(self, sha512: str) -> str:
        """The object key of a blob (whether or not it exists)."""
        return f"{self._prefix}sha512/{check_sha512(sha512)}"

    def put(self, content: bytes) -> BlobRef:
        """Store bytes with one ``PutObject``."""
        ref = BlobRef(hashlib.sha512(content).hexdigest(), len(content))
        if not self.exists(ref.sha512):
            self._client.put_object(Bucket=self._bucket, Key=self.key(ref.sha512), Body=content)
        return ref

    async def put_stream(self, chunks: AsyncIterator[bytes], max_size: int) -> BlobRef:
        """Store a stream, holding at most about one part in memory."""
        digest = hashlib.sha512()
        size = 0
        buffer = bytearray()
        upload: _MultipartUpload | None = None
        try:
            async for chunk in chunks:
                size += len(chunk)
                check_size(size, max_size)
                digest.update(chunk)
                buffer += chunk
                while len(buffer) >= self._part_size:
                    if upload is None:
                        upload = await asyncio.to_thread(self._start_upload)
                    await asyncio.to_thread(upload.send, _take(buffer, self._part_size))
            ref = BlobRef(digest.hexdigest(), size)
            if upload is None:  # one part at most: the hash is known before anything is written
                await asyncio.to_thread(self._put_new, ref, bytes(buffer))
                return ref
            if buffer:
                await asyncio.to_thread(upload.send, _take(buffer, len(buffer)))
            await asyncio.to_thread(upload.complete)
        except BaseException:
            if upload is not None and not upload.completed:
                await asyncio.to_thread(upload.abort)
            raise
        await asyncio.to_thread(self._promote, upload.key, ref)
        return ref

    def read(self, sha512: str) -> bytes:
        """A blob's bytes; ``BlobNotFoundError`` if it is not stored."""
        body = self._get(sha512)
        try:
            return body.read()
        finally:
            body.close()

    def exists(self, sha512: str) -> bool:
        """True if the blob is stored."""
        try:
            self._client.head_object(Bucket=self._bucket, Key=self.key(sha512))
        except ClientError as error:
            if _code(error) in _MISSING:
                return False
            raise
        return True

    async def stream(self, sha512: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        """A blob's bytes chunk by chunk (S3 reads in a worker thread)."""
        body = await asyncio.to_thread(self._get, sha512)
        try:
            while chunk := await asyncio.to_thread(body.read, chunk_size):
                yield chunk
        finally:
            body.close()

    def _get(self, sha512: str) -> StreamingBody:
        try:
            answer = self._client.get_object(Bucket=self._bucket, Key=self.key(sha512))
        except ClientError as error:
            if _code(error) in _MISSING:
                raise BlobNotFoundError(sha512) from error
            raise
        return answer["Body"]

    def _put_new(self, ref: BlobRef, content: bytes) -> None:
        if not self.exists(ref.sha512):
            self._client.put_object(Bucket=self._bucket, Key=self.key(ref.sha512), Body=content)

    def _start_upload(self) -> _MultipartUpload:
        key = f"{self._prefix}tmp/{uuid.uuid4()}"
        answer = self._client.create_multipart_upload(Bucket=self._bucket, Key=key)
        return _MultipartUpload(self._client, self._bucket, key, answer["UploadId"])

    def _promote(self, temporary_key: str, ref: BlobRef) -> None:
        """Copy a completed upload under its hash (unless already there), then drop it."""
        try:
            if not self.exists(ref.sha512):
                self._client.copy(
                    {"Bucket": self._bucket, "Key": temporary_key},
                    self._bucket,
                    self.key(ref.sha512),
                    Config=self._copy,
                )
        finally:
            self._client.delete_object(Bucket=self._bucket, Key=temporary_key)


class _MultipartUpload:
    """One multipart upload to a temporary key: send parts, then complete or abort."""

    def __init__(self, client: S3Client, bucket: str, key: str, upload_id: str) -> None:
        self._client = client
        self._bucket = bucket
        self.key = key
        self._upload_id = upload_id
        self._parts: list[dict[str, Any]] = []
        self.completed = False

    def send(self, part: bytes) -> None:
        number = len(self._parts) + 1
        answer = self._client.upload_part(
            Bucket=self._bucket,
            Key=self.key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=part,
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def complete(self) -> None:
        self._client.complete_multipart_upload(
            Bucket=self._bucket,
            Key=self.key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},  # type: ignore[typeddict-item]
        )
        self.completed = True

    def abort(self) -> None:
        """Drop the parts sent so far; a failure here is logged, the cause is re-raised."""
        try:
            self._client.abort_multipart_upload(
                Bucket=self._bucket, Key=self.key, UploadId=self._upload_id
            )
        except (BotoCoreError, ClientError) as error:  # the bucket's lifecycle rule cleans up
            log.warning("blobs.s3_abort_failed", key=self.key, error=str(error))


def _take(buffer: bytearray, size: int) -> bytes:
    """The first ``size`` bytes of ``buffer``, removed from it (one copy)."""
    with memoryview(buffer) as view:
        part = bytes(view[:size])
    del buffer[:size]
    return part


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
