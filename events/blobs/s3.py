"""An S3-compatible blob store (AWS S3, MinIO, Ceph RGW, …): ``<prefix>groups/<group>/<item>``.

A stream that fits in one part is stored with one ``PutObject``; a longer one goes as a
multipart upload (parts of ``part_size``) straight to its final key: S3 shows an object
only once ``CompleteMultipartUpload`` succeeded, so no blob exists that was not completely
received. On an error the upload is aborted; give the bucket a lifecycle rule that aborts
incomplete multipart uploads after a day, for a process killed mid-upload. Erasing a
group deletes every object under its prefix (``DeleteObjects``, 1,000 keys a call).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import structlog
from botocore.exceptions import BotoCoreError, ClientError

from events.blobs.base import CHUNK, BlobNotFoundError, check_group, check_name

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3.client import S3Client

log = structlog.get_logger(__name__)

MiB = 1024 * 1024
PART_SIZE = 8 * MiB
MIN_PART_SIZE = 5 * MiB
"""S3's smallest part (except the last)."""

_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3BlobStore:
    """Blobs as objects in a bucket, under an optional key prefix."""

    def __init__(
        self, client: S3Client, bucket: str, prefix: str = "", part_size: int = PART_SIZE
    ) -> None:
        if part_size < MIN_PART_SIZE:
            msg = f"S3 parts must be at least {MIN_PART_SIZE} bytes"
            raise ValueError(msg)
        self._client = client
        self._bucket = bucket
        self._prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._part_size = part_size

    def key(self, name: str) -> str:
        """The object key of a blob (whether or not it exists)."""
        return f"{self._prefix}groups/{check_name(name)}"

    def write(self, name: str, content: bytes) -> None:
        """Store bytes with one ``PutObject``."""
        self._client.put_object(Bucket=self._bucket, Key=self.key(name), Body=content)

    async def write_stream(self, name: str, chunks: AsyncIterator[bytes]) -> int:
        """Store a stream, holding at most about one part in memory."""
        key = self.key(name)
        size = 0
        buffer = bytearray()
        upload: _MultipartUpload | None = None
        try:
            async for chunk in chunks:
                size += len(chunk)
                buffer += chunk
                while len(buffer) >= self._part_size:
                    if upload is None:
                        upload = await asyncio.to_thread(self._start_upload, key)
                    await asyncio.to_thread(upload.send, _take(buffer, self._part_size))
            if upload is None:  # one part at most
                await asyncio.to_thread(self.write, name, bytes(buffer))
                return size
            if buffer:
                await asyncio.to_thread(upload.send, _take(buffer, len(buffer)))
            await asyncio.to_thread(upload.complete)
        except BaseException:
            if upload is not None and not upload.completed:
                await asyncio.to_thread(upload.abort)
            raise
        return size

    def read(self, name: str) -> bytes:
        """A blob's bytes; ``BlobNotFoundError`` if it is not stored."""
        body = self._get(name)
        try:
            return body.read()
        finally:
            body.close()

    def exists(self, name: str) -> bool:
        """True if the blob is stored."""
        try:
            self._client.head_object(Bucket=self._bucket, Key=self.key(name))
        except ClientError as error:
            if _code(error) in _MISSING:
                return False
            raise
        return True

    async def stream(self, name: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        """A blob's bytes chunk by chunk (S3 reads in a worker thread)."""
        body = await asyncio.to_thread(self._get, name)
        try:
            while chunk := await asyncio.to_thread(body.read, chunk_size):
                yield chunk
        finally:
            body.close()

    def delete(self, name: str) -> None:
        """Delete one object (S3 answers success for a missing key too)."""
        self._client.delete_object(Bucket=self._bucket, Key=self.key(name))

    def delete_group(self, group: str) -> int:
        """Delete every object under the group's prefix."""
        prefix = f"{self._prefix}groups/{check_group(group)}/"
        deleted = 0
        while True:
            listing = self._client.list_objects_v2(Bucket=self._bucket, Prefix=prefix)
            keys = [{"Key": item["Key"]} for item in listing.get("Contents", [])]
            if not keys:
                return deleted
            self._client.delete_objects(
                Bucket=self._bucket,
                Delete={"Objects": keys, "Quiet": True},  # type: ignore[typeddict-item]
            )
            deleted += len(keys)

    def groups(self) -> Iterator[str]:
        """Every group prefix that holds an object."""
        paginator = self._client.get_paginator("list_objects_v2")
        prefix = f"{self._prefix}groups/"
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                yield common["Prefix"][len(prefix) :].rstrip("/")

    def _get(self, name: str) -> StreamingBody:
        try:
            answer = self._client.get_object(Bucket=self._bucket, Key=self.key(name))
        except ClientError as error:
            if _code(error) in _MISSING:
                raise BlobNotFoundError(name) from error
            raise
        return answer["Body"]

    def _start_upload(self, key: str) -> _MultipartUpload:
        answer = self._client.create_multipart_upload(Bucket=self._bucket, Key=key)
        return _MultipartUpload(self._client, self._bucket, key, answer["UploadId"])


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
