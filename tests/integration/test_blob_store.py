"""The blob store's promises, on the filesystem and on a real S3-compatible server."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from events.blobs import BlobNotFoundError, BlobSettings, FileBlobStore, open_blob_store
from events.blobs.s3 import MIN_PART_SIZE, S3BlobStore
from tests.support.blobs import S3_CREDENTIALS, BlobBackend, S3Server, blob_backend, s3_server

__all__ = ["blob_backend", "s3_server"]

MiB = 1024 * 1024
LARGE = os.urandom(2 * MIN_PART_SIZE + 3 * MiB + 17)
"""Two full S3 parts and a short last one."""


def _name(group: str | None = None) -> str:
    return f"{group or uuid.uuid4()}/{uuid.uuid4().hex}"


async def _chunks(content: bytes, size: int = 1_000_003) -> AsyncIterator[bytes]:
    for start in range(0, len(content), size):
        yield content[start : start + size]


async def _failing(content: bytes) -> AsyncIterator[bytes]:
    async for chunk in _chunks(content):
        yield chunk
    raise ConnectionResetError("the client went away")


async def _collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


def test_write_read_exists_delete(blob_backend: BlobBackend) -> None:
    store, name = blob_backend.store, _name()
    store.write(name, b"sealed bytes")
    assert store.exists(name)
    assert store.read(name) == b"sealed bytes"
    store.write(name, b"replaced")
    assert store.read(name) == b"replaced"
    store.delete(name)
    store.delete(name)  # again: nothing happens
    assert not store.exists(name)
    assert blob_backend.leftovers() == []


@pytest.mark.parametrize(
    "content", [b"", b"small", LARGE], ids=["empty", "one-chunk", "several-parts"]
)
async def test_write_stream_stores_under_its_name(
    blob_backend: BlobBackend, content: bytes
) -> None:
    store, name = blob_backend.store, _name()
    assert await store.write_stream(name, _chunks(content)) == len(content)
    assert store.read(name) == content
    assert await _collect(store.stream(name, chunk_size=MiB)) == content
    assert blob_backend.leftovers() == []


async def test_stream_reads_in_chunks(blob_backend: BlobBackend) -> None:
    name = _name()
    await blob_backend.store.write_stream(name, _chunks(LARGE))
    sizes = [len(chunk) async for chunk in blob_backend.store.stream(name, MiB)]
    assert max(sizes) <= MiB
    assert sum(sizes) == len(LARGE)


@pytest.mark.parametrize("content", [b"partial", LARGE], ids=["one-part", "several-parts"])
async def test_a_failed_upload_leaves_nothing(blob_backend: BlobBackend, content: bytes) -> None:
    name = _name()
    with pytest.raises(ConnectionResetError):
        await blob_backend.store.write_stream(name, _failing(content))
    assert not blob_backend.store.exists(name)
    assert blob_backend.leftovers() == []


async def test_concurrent_uploads_under_other_names_stay_apart(blob_backend: BlobBackend) -> None:
    store = blob_backend.store
    names = [_name() for _ in range(3)]
    await asyncio.gather(*(store.write_stream(n, _chunks(LARGE)) for n in names))
    assert {store.read(n) == LARGE for n in names} == {True}
    assert blob_backend.leftovers() == []


def test_a_group_is_deleted_at_once(blob_backend: BlobBackend) -> None:
    store = blob_backend.store
    group, other = str(uuid.uuid4()), str(uuid.uuid4())
    mine = [_name(group) for _ in range(3)]
    for name in [*mine, _name(other)]:
        store.write(name, b"x")
    assert set(store.groups()) >= {group, other}
    assert store.delete_group(group) == 3
    assert store.delete_group(group) == 0  # idempotent
    assert not any(store.exists(n) for n in mine)
    assert group not in set(store.groups())
    assert other in set(store.groups())


async def test_missing_blobs_are_not_found(blob_backend: BlobBackend) -> None:
    missing = _name()
    assert not blob_backend.store.exists(missing)
    with pytest.raises(BlobNotFoundError):
        blob_backend.store.read(missing)
    with pytest.raises(BlobNotFoundError):
        await _collect(blob_backend.store.stream(missing))


@pytest.mark.parametrize("name", ["a" * 128, "../x/y", "A/b", "a/b/c", "", "a/"])
def test_only_group_item_names_are_accepted(blob_backend: BlobBackend, name: str) -> None:
    with pytest.raises(ValueError, match="blob name"):
        blob_backend.store.read(name)
    with pytest.raises(ValueError, match="blob name"):
        blob_backend.store.exists(name)


def test_settings_choose_the_data_dir_by_default(tmp_path: Path) -> None:
    store = open_blob_store(BlobSettings(data_dir=tmp_path))
    assert isinstance(store, FileBlobStore)
    name = _name()
    store.write(name, b"x")
    assert store.path(name).is_relative_to(tmp_path / "blobs")


def test_settings_choose_s3_by_url(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = s3_server.new_bucket()
    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AMTSWEG_BLOB_URL", f"s3://{bucket}/tenant-a/blobs")
    monkeypatch.setenv("AMTSWEG_BLOB_S3_ENDPOINT_URL", s3_server.endpoint_url)
    store = open_blob_store(BlobSettings())
    assert isinstance(store, S3BlobStore)
    name = _name()
    store.write(name, b"sealed")
    listed = s3_server.client().list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in listed["Contents"]] == [f"tenant-a/blobs/groups/{name}"]


@pytest.mark.parametrize("url", ["s3://", "http://example.invalid/x", "bucket/prefix"])
def test_settings_refuse_other_urls(url: str) -> None:
    with pytest.raises(ValueError, match="AMTSWEG_BLOB_URL"):
        open_blob_store(BlobSettings(blob_url=url))
