"""Settings of the FIT-Connect Routing API (environment, prefix ``AMTSWEG_FIT_CONNECT_``)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class FitConnectRoutingSettings(BaseSettings):
    """Where senders reach this instance's FIT-Connect API."""

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_FIT_CONNECT_", extra="ignore")

    public_url: str = ""
    """``AMTSWEG_FIT_CONNECT_PUBLIC_URL``: the public URL of this instance's FIT-Connect
    API, e.g. ``https://amtsweg.example.de/fit-connect``. Routes name it as the submission
    URL and sign its host. Empty: ``http://<AMTSWEG_HTTP_HOST>:<AMTSWEG_HTTP_PORT>/fit-connect``,
    what this process listens on (set it behind a proxy)."""
