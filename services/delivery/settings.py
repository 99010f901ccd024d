"""Delivery settings (environment, prefix ``AMTSWEG_DELIVERY_``)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class DeliverySettings(BaseSettings):
    """How deliveries are built."""

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_DELIVERY_", extra="ignore")

    inline_limit_bytes: int = 256 * 1024
    """Parts up to this size travel inline (base64); larger ones as blob references."""
