"""Settings of the ops API (environment, prefix ``AMTSWEG_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OperatorSettings(BaseSettings):
    """Who may use ``/ops`` (operator name → SHA-256 (hex) of its bearer token), over which
    tenants (``operator_scopes``), and where the platform's tenants are (``tenants_file``)."""

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_", extra="ignore")

    operator_tokens: dict[str, str] = Field(
        default_factory=dict,
        description="operator name -> SHA-256 (hex) of its bearer token; tokens are never stored",
    )
    operator_scopes: dict[str, list[str]] = Field(
        default_factory=dict,
        description='operator name -> the tenant ids it sees, ["*"]: every tenant',
    )
    tenants_file: Path | None = Field(
        default=None,
        description="the tenants of the platform (JSON); None: one tenant owns everything",
    )
