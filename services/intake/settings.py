"""Intake settings (environment, prefix ``AMTSWEG_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.limits import MAX_METADATA_BYTES, MAX_PART_BYTES

MiB = 1024 * 1024


class IntakeSettings(BaseSettings):
    """HTTP intake: where it listens, who may post, how much."""

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_", extra="ignore")

    data_dir: Path = Path("var")
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    http_max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    """The most bytes of headers a request may have (``AMTSWEG_HTTP_MAX_HEADER_BYTES``),
    else ``431``; headers that are stored have tighter limits of their own."""
    portal_tokens: dict[str, str] = Field(
        default_factory=dict,
        description="portal id -> SHA-256 (hex) of its bearer token; tokens are never stored",
    )
    max_attachment_bytes: int = MAX_PART_BYTES
    """The largest part (data document or attachment); receivers open parts up to this size
    (``contracts.limits``), so an instance that raises it tells its authorities."""
    max_attachments: int = 100
    max_total_bytes: int = 2048 * MiB
    max_metadata_bytes: int = MAX_METADATA_BYTES
    max_json_body_bytes: int = 64 * MiB
