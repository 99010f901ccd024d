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


class LeaseSettings(BaseSettings):
    """``AMTSWEG_LEASE_SECONDS``: how long a singleton's lease lasts without renewal (10).

    The leader renews every third of it; on PostgreSQL a standby takes over a holder that
    stopped renewing (alive but stuck) after it, a dead holder at once.
    """

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_LEASE_", extra="ignore")

    seconds: float = Field(default=10.0, ge=1.0, le=600.0)
