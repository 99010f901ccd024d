"""The blob store's promises, on the filesystem and on a real S3-compatible server."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from events.blobs import (
    BlobNotFoundError,
    BlobSettings,
    BlobTooLargeError,
    FileBlobStore,
    open_blob_store,
)
from events.blobs.s3 import MIN_PART_SIZE, S3BlobStore
from tests.support.blobs import S3_CREDENTIALS, BlobBackend, S3Server, blob_backend, s3_server

__all__ = ["blob_backend", "s3_server"]

MiB = 1024 * 1024
LARGE = os.urandom(2 * MIN_PART_SIZE + 3 * MiB + 17)
"""Two full S3 parts and a short last one."""


async def _chunks(content: bytes, size: int = 1_000_003) -> AsyncIterator[bytes]:
    for start in range(0, len(content), size):
        yield content[start : start + size]


async def _failing(content: bytes) -> AsyncIterator[bytes]:
    async for chunk in _chunks(content):
        yield chunk
    raise ConnectionResetError("the client went away")


async def _collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


def _sha512(content: bytes) -> str:
    return hashlib.sha512(content).hexdigest()


def test_put_read_exists(blob_backend: BlobBackend) -> None:
    store = blob_backend.store
    ref = store.put(b"<antrag/>")
    assert ref.sha512 == _sha512(b"<antrag/>")
    assert ref.size == 9
    assert ref.reference == f"blob:sha512:{ref.sha512}"
    assert store.exists(ref.sha512)
    assert store.read(ref.sha512) == b"<antrag/>"
    assert store.put(b"<antrag/>") == ref
    assert blob_backend.leftovers() == []


@pytest.mark.parametrize(
    "content", [b"", b"small", LARGE], ids=["empty", "one-chunk", "several-parts"]
)
async def test_put_stream_stores_under_the_hash(blob_backend: BlobBackend, content: bytes) -> None:
    store = blob_backend.store
    ref = await store.put_stream(_chunks(content), max_size=len(content))
    assert (ref.sha512, ref.size) == (_sha512(content), len(content))
    assert store.read(ref.sha512) == content
    assert await _collect(store.stream(ref.sha512, chunk_size=MiB)) == content
    assert blob_backend.leftovers() == []


async def test_stream_reads_in_chunks(blob_backend: BlobBackend) -> None:
    ref = await blob_backend.store.put_stream(_chunks(LARGE), max_size=len(LARGE))
    sizes = [len(chunk) async for chunk in blob_backend.store.stream(ref.sha512, MiB)]
    assert max(sizes) <= MiB
    assert sum(sizes) == len(LARGE)


@pytest.mark.parametrize("limit", [MiB, 2 * MIN_PART_SIZE + MiB], ids=["first-part", "later-part"])
async def test_over_the_limit_nothing_is_stored(blob_backend: BlobBackend, limit: int) -> None:
    with pytest.raises(BlobTooLargeError):
        await blob_backend.store.put_stream(_chunks(LARGE), max_size=limit)
    assert not blob_backend.store.exists(_sha512(LARGE))
    assert not blob_backend.store.exists(_sha512(LARGE[:limit]))
    assert blob_backend.leftovers() == []


@pytest.mark.parametrize("content", [b"partial", LARGE], ids=["one-part", "several-parts"])
async def test_a_failed_upload_leaves_nothing(blob_backend: BlobBackend, content: bytes) -> None:
    with pytest.raises(ConnectionResetError):
        await blob_backend.store.put_stream(_failing(content), max_size=len(LARGE))
    assert not blob_backend.store.exists(_sha512(content))
    assert blob_backend.leftovers() == []


async def test_concurrent_uploads_of_the_same_content_agree(blob_backend: BlobBackend) -> None:
    store = blob_backend.store
    refs = await asyncio.gather(*(store.put_stream(_chunks(LARGE), len(LARGE)) for _ in range(3)))
    assert {(r.sha512, r.size) for r in refs} == {(_sha512(LARGE), len(LARGE))}
    assert store.read(_sha512(LARGE)) == LARGE
    assert blob_backend.leftovers() == []


async def test_missing_blobs_are_not_found(blob_backend: BlobBackend) -> None:
    missing = _sha512(b"never stored")
    assert not blob_backend.store.exists(missing)
    with pytest.raises(BlobNotFoundError):
        blob_backend.store.read(missing)
    with pytest.raises(BlobNotFoundError):
        await _collect(blob_backend.store.stream(missing))


@pytest.mark.parametrize("name", ["A" * 128, "a" * 127, "../" + "a" * 125, ""])
def test_only_sha512_names_are_accepted(blob_backend: BlobBackend, name: str) -> None:
    with pytest.raises(ValueError, match="SHA-512"):
        blob_backend.store.read(name)
    with pytest.raises(ValueError, match="SHA-512"):
        blob_backend.store.exists(name)


def test_settings_choose_the_data_dir_by_default(tmp_path: Path) -> None:
    store = open_blob_store(BlobSettings(data_dir=tmp_path))
    assert isinstance(store, FileBlobStore)
    ref = store.put(b"x")
    assert store.path(ref.sha512).is_relative_to(tmp_path / "blobs")


def test_settings_choose_s3_by_url(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = s3_server.new_bucket()
    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AMTSWEG_BLOB_URL", f"s3://{bucket}/tenant-a/blobs")
    monkeypatch.setenv("AMTSWEG_BLOB_S3_ENDPOINT_URL", s3_server.endpoint_url)
    store = open_blob_store(BlobSettings())
    assert isinstance(store, S3BlobStore)
    ref = store.put(b"<antrag/>")
    listed = s3_server.client().list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in listed["Contents"]] == [f"tenant-a/blobs/sha512/{ref.sha512}"]


@pytest.mark.parametrize("url", ["s3://", "http://example.invalid/x", "bucket/prefix"])
def test_settings_refuse_other_urls(url: str) -> None:
    with pytest.raises(ValueError, match="AMTSWEG_BLOB_URL"):
        open_blob_store(BlobSettings(blob_url=url))
