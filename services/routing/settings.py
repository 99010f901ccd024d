"""Routing settings (environment, prefix ``AMTSWEG_ROUTING_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

DATA = Path(__file__).parent / "data"


class RoutingSettings(BaseSettings):
    """Which authority directory and key lists to route with, and where versions are kept."""

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_ROUTING_", extra="ignore")

    directory: Path = DATA / "directory.json"
    regions: Path = DATA / "Regionalschl_ssel_2021-07-31.json"
    """The official ARS list (Destatis, XRepository JSON export)."""
    postcodes: Path = DATA / "zuordnung_plz_ort.csv"
    """Postal code → municipality (AGS) list."""
    archive: Path | None = None
    """Where every directory version used is kept (default ``<data dir>/directories``)."""

    def archive_folder(self, data_dir: Path) -> Path:
        """The archive folder, given the process's data directory."""
        return self.archive if self.archive is not None else data_dir / "directories"
