"""Settings of the metrics endpoint and collector (environment, prefix ``AMTSWEG_METRICS_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORT = 9464
"""Where a process without the HTTP intake serves ``/metrics`` unless told otherwise."""


class MetricsSettings(BaseSettings):
    """``/metrics`` of processes without the HTTP intake, and the collector's interval."""

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_METRICS_", extra="ignore")

    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=0, le=65535)
    """Unset: 9464, or any free port when 9464 is taken (logged); set: exactly this port
    (0: any free port)."""
    interval_seconds: float = Field(default=15.0, gt=0)
    """How often the ``metrics`` service reads the ledger and the broker."""
