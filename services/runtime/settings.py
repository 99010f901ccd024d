"""The stage workers' settings, built once by the composition root."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StageSettings(BaseSettings):
    """``AMTSWEG_STAGE_BATCH_RECORDS``: messages per batch at most (default 200).

    A batch is whatever has arrived, never waited for: under light load it is one message.
    """

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_STAGE_", extra="ignore")

    batch_records: int = Field(default=200, ge=1, le=10_000)
