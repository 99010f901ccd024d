"""Validation settings (environment, prefix ``AMTSWEG_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CATALOG = Path(__file__).parent / "catalog" / "catalog.json"


class ValidationSettings(BaseSettings):
    """Which schema catalog to validate against."""

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_VALIDATION_", extra="ignore")

    catalog: Path = DEFAULT_CATALOG
    max_findings: int = 100
