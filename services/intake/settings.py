"""Intake settings (environment, prefix ``AMTSWEG_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts import topics
from contracts.limits import MAX_METADATA_BYTES, MAX_PART_BYTES

MiB = 1024 * 1024


SUPPLEMENT_MEDIA_TYPES: Final = (
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/tiff",
    "application/xml",
    "text/xml",
    "application/json",
    "text/plain",
)
"""What documents handed in later may be unless ``AMTSWEG_SUPPLEMENT_MEDIA_TYPES`` says."""


class IntakeSettings(BaseSettings):
    """HTTP intake: where it listens, who may post, how much."""

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_", extra="ignore")

    data_dir: Path = Path("var")
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    http_max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    """The most bytes of headers a request may have (``AMTSWEG_HTTP_MAX_HEADER_BYTES``),
    else ``431``; headers that are stored have tighter limits of their own."""
    http_max_in_flight: int = Field(default=256, ge=1)
    """The most write requests (submissions, supplements, replies) in progress at once
    (``AMTSWEG_HTTP_MAX_IN_FLIGHT``); one more is answered ``503`` with ``Retry-After``."""
    http_retry_after_seconds: int = Field(default=1, ge=1, le=3600)
    """The ``Retry-After`` of that ``503`` (``AMTSWEG_HTTP_RETRY_AFTER_SECONDS``)."""
    portal_tokens: dict[str, str] = Field(
        default_factory=dict,
        description="portal id -> SHA-256 (hex) of its bearer token; tokens are never stored",
    )
    kafka_intake_shared_topic: bool = False
    """``AMTSWEG_KAFKA_INTAKE_SHARED_TOPIC``: also accept ``amtsweg.intake``, where a header
    or the body names the portal. Whoever may write that topic can name any portal, so it
    is off outside development unless set: portals post to their own topics."""
    max_attachment_bytes: int = MAX_PART_BYTES
    """The largest part (data document or attachment); receivers open parts up to this size
    (``contracts.limits``), so an instance that raises it tells its authorities."""
    max_attachments: int = 100
    max_total_bytes: int = 2048 * MiB
    max_metadata_bytes: int = Field(default=MAX_METADATA_BYTES, ge=1024)
    """The most bytes of metadata (``AMTSWEG_MAX_METADATA_BYTES``), as sent and as Amtsweg
    serializes it: it travels encrypted in the delivery envelope, which must fit the broker's
    message limit (checked at start against ``AMTSWEG_KAFKA_MAX_MESSAGE_BYTES``)."""
    max_metadata_depth: int = Field(default=32, ge=4, le=200)
    """How deeply arrays and objects may nest in the metadata and routing hint
    (``AMTSWEG_MAX_METADATA_DEPTH``); a JSON body may nest two levels more."""
    max_json_body_bytes: int = 64 * MiB
    supplement_media_types: list[str] = Field(default_factory=lambda: list(SUPPLEMENT_MEDIA_TYPES))
    """What documents handed in later may be (``AMTSWEG_SUPPLEMENT_MEDIA_TYPES``, a JSON
    list); the validation catalog names no media types for attachments."""

    def supplement_media_type_set(self) -> frozenset[str]:
        """The supplements' allow-list, lower case."""
        return frozenset(media_type.lower() for media_type in self.supplement_media_types)

    def portal_topics(self) -> list[str]:
        """Each configured portal's own intake topic (``amtsweg.intake.<portal-id>``).

        A portal id that cannot be part of a topic name has none (it can post over HTTP).
        """
        return [
            topics.portal_intake_topic(portal)
            for portal in sorted(self.portal_tokens)
            if topics.portal_of_intake_topic(topics.PORTAL_INTAKE_PREFIX + portal) == portal
        ]
