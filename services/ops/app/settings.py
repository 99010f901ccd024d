"""Settings of the whole process (environment, prefix ``AMTSWEG_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class RunSettings(BaseSettings):
    """Where data lives and how the broker is reached."""

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_", extra="ignore")

    data_dir: Path = Path("var")
    topic_partitions: int = 6
    log_level: str = "INFO"

    def broker_file(self) -> Path:
        """Where ``amtsweg run`` records the bootstrap address of the broker it started."""
        return self.data_dir / "broker.json"
