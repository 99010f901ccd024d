"""Blob stores for tests: the same cases on the filesystem and on a real S3-compatible server.

The S3 server is moto's standalone server (``moto[server]``), started in this process on
a free port and spoken to over HTTP by boto3, exactly as a MinIO or AWS endpoint would be.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from deploy.net import free_tcp_port
from events.blobs import BlobStore, FileBlobStore
from events.blobs.s3 import MIN_PART_SIZE, S3BlobStore

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "amtsweg-test",
    "AWS_SECRET_ACCESS_KEY": "amtsweg-test-secret",
    "AWS_DEFAULT_REGION": "eu-central-1",
}
"""What the moto server accepts (any credentials); never real ones."""


@dataclass
class S3Server:
    """A running S3-compatible server."""

    endpoint_url: str

    def client(self) -> S3Client:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=S3_CREDENTIALS["AWS_DEFAULT_REGION"],
            aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(s3={"addressing_style": "path"}),
        )

    def new_bucket(self) -> str:
        name = f"amtsweg-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(
            Bucket=name,
            CreateBucketConfiguration={"LocationConstraint": "eu-central-1"},
        )
        return name


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3-compatible server on 127.0.0.1, for the whole session."""
    port = free_tcp_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        server.stop()


@dataclass
class BlobBackend:
    """A blob store under test and a look at what it left besides blobs."""

    name: str
    store: BlobStore
    leftovers: Callable[[], list[str]]
    """Temporary files and unfinished multipart uploads."""


def file_backend(root: Path) -> BlobBackend:
    store = FileBlobStore(root)
    return BlobBackend("files", store, lambda: sorted(p.name for p in (root / "tmp").iterdir()))


def s3_backend(server: S3Server, prefix: str = "amtsweg/blobs") -> BlobBackend:
    client = server.client()
    bucket = server.new_bucket()
    store = S3BlobStore(client, bucket, prefix, part_size=MIN_PART_SIZE)

    def leftovers() -> list[str]:
        uploads = client.list_multipart_uploads(Bucket=bucket)
        return sorted(f"upload:{u['Key']}" for u in uploads.get("Uploads", []))

    return BlobBackend("s3", store, leftovers)


@pytest.fixture(params=["files", "s3"])
def blob_backend(request: pytest.FixtureRequest, tmp_path: Path) -> BlobBackend:
    """The same tests on the filesystem store and on the S3 store (moto server)."""
    if request.param == "files":
        return file_backend(tmp_path / "blobs")
    return s3_backend(request.getfixturevalue("s3_server"))
