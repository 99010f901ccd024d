"""Routing settings (environment, prefix ``AMTSWEG_ROUTING_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

DATA = Path(__file__).parent / "data"


class RoutingSettings(BaseSettings):
    """Which authority directory and regional key list to route with."""

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_ROUTING_", extra="ignore")

    directory: Path = DATA / "directory.json"
    regions: Path = DATA / "Regionalschl_ssel_2021-07-31.json"
