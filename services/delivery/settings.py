"""Delivery settings (environment, prefix ``AMTSWEG_DELIVERY_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.replies import MAX_REPLY_PARTS

DAY = 24 * 3600.0
MIB = 1024 * 1024
REPLY_MEDIA_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "application/xml",
    "text/xml",
    "application/json",
    "text/plain",
)
"""What a reply's documents may be by default: PDF, PNG, JPEG, XML, JSON, plain text."""


class DeliverySettings(BaseSettings):
    """How deliveries are built, announced, chased and answered."""

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_DELIVERY_", extra="ignore")

    inline_limit_bytes: int = 256 * 1024
    """Parts up to this size travel inline in the envelope; larger ones as references."""
    inline_total_bytes: int = 512 * 1024
    """At most this many bytes of parts travel inline per envelope (Kafka message size)."""
    public_base_url: str = ""
    """Prefix of links and part references (empty: paths relative to the HTTP API)."""
    signing_keys_file: Path | None = None
    """Amtsweg's envelope signing keys, a JWK Set whose first key signs
    (``AMTSWEG_DELIVERY_SIGNING_KEYS_FILE``; required outside development, see
    ``services.delivery.signing``)."""

    authority_tokens: dict[str, str] = Field(
        default_factory=dict,
        description="authority id -> SHA-256 (hex) of its bearer token; tokens are never stored",
    )
    callback_secrets: dict[str, SecretStr] = Field(
        default_factory=dict, description="authority id -> its callback secret (HMAC key)"
    )
    callback_max_attempts: int = Field(default=8, ge=1)
    callback_backoff_seconds: float = Field(default=2.0, gt=0)
    """Delay before the second attempt; it doubles per attempt (with jitter)."""
    callback_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    callback_timeout_seconds: float = Field(default=10.0, gt=0)

    handover_tokens: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="authority id -> portal token at the Amtsweg instance it hands over to",
    )
    handover_timeout_seconds: float = Field(default=60.0, gt=0)
    handover_retry_seconds: float = Field(default=5.0, gt=0)
    """Pause before a handover is tried again after the other instance did not answer."""

    remind_after_seconds: list[float] = Field(default_factory=lambda: [3 * DAY, 9 * DAY])
    """Since dispatch: when to remind (and announce the delivery again) without a receipt."""
    escalate_after_seconds: float = Field(default=14 * DAY, gt=0)
    """Since dispatch: when to escalate to operations without a receipt."""
    tick_seconds: float = Field(default=5.0, gt=0)
    """How often the notifier looks for due callbacks, reminders and escalations."""

    reply_max_bytes: int = Field(default=64 * MIB, gt=0)
    """The largest reply an authority may send, as sent (JSON or JWS, parts in base64).
    On Kafka the broker's message limit (1 MiB by default) is lower: large decisions go
    over HTTP."""
    reply_max_part_bytes: int = Field(default=20 * MIB, gt=0)
    """The largest document of a reply (decoded)."""
    reply_max_parts: int = Field(default=MAX_REPLY_PARTS, ge=0, le=MAX_REPLY_PARTS)
    """At most this many documents per reply."""
    reply_media_types: list[str] = Field(default_factory=lambda: list(REPLY_MEDIA_TYPES))
    """The media types a reply's documents may have (compared without case)."""
