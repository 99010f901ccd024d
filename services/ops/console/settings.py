"""Settings of the ops API (environment, prefix ``AMTSWEG_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OperatorSettings(BaseSettings):
    """Who may use ``/ops``: operator name → SHA-256 (hex) of its bearer token."""

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_", extra="ignore")

    operator_tokens: dict[str, str] = Field(
        default_factory=dict,
        description="operator name -> SHA-256 (hex) of its bearer token; tokens are never stored",
    )
