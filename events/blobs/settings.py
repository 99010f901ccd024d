"""Where blobs are stored: a folder in the data dir (default) or an S3-compatible bucket."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from events.blobs.base import BlobStore
from events.blobs.files import FileBlobStore

MiB = 1024 * 1024


class BlobSettings(BaseSettings):
    """``AMTSWEG_BLOB_URL``: unset (``<data dir>/blobs``), ``file:///path`` or ``s3://bucket/prefix``.

    S3 credentials come from the environment through boto3's usual chain
    (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, a profile, an instance role), never
    from Amtsweg's own settings.
    """

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_", extra="ignore")

    data_dir: Path = Path("var")
    blob_url: str | None = None
    blob_s3_endpoint_url: str | None = Field(
        default=None, description="an S3-compatible server (MinIO, Ceph …); path-style addressing"
    )
    blob_s3_region: str | None = None
    blob_s3_part_size: int = Field(default=8 * MiB, ge=5 * MiB)


def open_blob_store(settings: BlobSettings) -> BlobStore:
    """The blob store the settings name."""
    if settings.blob_url is None:
        return FileBlobStore(settings.data_dir / "blobs")
    parts = urlsplit(settings.blob_url)
    if parts.scheme == "file":
        return FileBlobStore(Path(unquote(parts.path)))
    if parts.scheme == "s3" and parts.netloc:
        return _s3_store(settings, parts.netloc, unquote(parts.path))
    msg = f"AMTSWEG_BLOB_URL must be file:///path or s3://bucket/prefix, not {settings.blob_url!r}"
    raise ValueError(msg)


def _s3_store(settings: BlobSettings, bucket: str, prefix: str) -> BlobStore:
    import boto3  # noqa: PLC0415 - only a process that stores blobs in S3 loads boto3
    from botocore.config import Config  # noqa: PLC0415

    from events.blobs.s3 import S3BlobStore  # noqa: PLC0415

    path_style = settings.blob_s3_endpoint_url is not None
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=settings.blob_s3_endpoint_url,
        region_name=settings.blob_s3_region,
        config=Config(
            s3={"addressing_style": "path" if path_style else "auto"},
            retries={"mode": "standard", "max_attempts": 5},
            max_pool_connections=20,
        ),
    )
    return S3BlobStore(client, bucket, prefix, part_size=settings.blob_s3_part_size)
