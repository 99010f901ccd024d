"""FIT-Connect facade settings (environment, prefix ``AMTSWEG_FITCONNECT_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.fitconnect.scopes import SEND_EVERYWHERE


class FitConnectSettings(BaseSettings):
    """Access tokens, the destinations' keys and their certificates."""

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_FITCONNECT_", extra="ignore")

    public_url: str = ""
    """``AMTSWEG_FITCONNECT_PUBLIC_URL``: the public URL of this instance's FIT-Connect
    API, e.g. ``https://amtsweg.example.de/fit-connect``. Routes name it as the submission
    URL and sign its host. Empty: ``http://<AMTSWEG_HTTP_HOST>:<AMTSWEG_HTTP_PORT>/fit-connect``,
    what this process listens on (set it behind a proxy)."""
    token_keys_file: Path | None = None
    """``AMTSWEG_FITCONNECT_TOKEN_KEYS_FILE``: the JWK Set (P-256, ES256) that signs access
    tokens, the first key signing; required outside development (see
    ``services.fitconnect.token_keys``)."""
    set_keys_file: Path | None = None
    """``AMTSWEG_FITCONNECT_SET_KEYS_FILE``: the JWK Set (RSA, at least 4096 bits, PS512)
    that signs the event log's Security Event Tokens, the first key signing, every key
    published at ``/fit-connect/.well-known/jwks.json``; required outside development (see
    ``services.fitconnect.set_keys``)."""
    token_lifetime_seconds: int = Field(default=300, ge=10, le=3600)
    """How long an access token is valid (``expires_in``)."""
    token_issuer: str = "amtsweg"  # noqa: S105 - a name
    """The ``iss`` of access tokens (e.g. the public token URL of this instance)."""
    sender_scopes: dict[str, list[str]] = Field(default_factory=dict)
    """Portal id -> the send scopes it may be granted (default: ``send:region:DE``,
    every destination); e.g. ``{"portal-by": ["send:region:DE09"]}``."""

    ca_cert_file: Path | None = None
    """``AMTSWEG_FITCONNECT_CA_CERT_FILE``: the instance CA's certificate (PEM) that issues
    the destinations' encryption key certificates (``x5c``); with ``…_CA_KEY_FILE``.
    Required outside development (in development one is made in the data dir)."""
    ca_key_file: Path | None = None
    """``AMTSWEG_FITCONNECT_CA_KEY_FILE``: the instance CA's private key (PEM, mode 0600)."""
    destination_keys_folder: Path | None = None
    """``AMTSWEG_FITCONNECT_DESTINATION_KEYS_FOLDER``: operator-made key pairs, one
    ``<destination id>.pem`` (RSA private key, then its certificate chain, leaf first) per
    destination that must publish a certificate of a real PKI instead of the instance CA's.
    Read when the destination's next key is made (first use or rotation)."""
    contact_email: str = ""
    """``AMTSWEG_FITCONNECT_CONTACT_EMAIL``: the ``contactInformation.email`` answered for a
    destination whose authority has no e-mail in the directory (the spec requires a valid
    one; empty: such a destination answers ``""``, which does not conform)."""
    rsa_bits: int = Field(default=4096, ge=4096)
    """The size of the destinations' encryption keys (FIT-Connect requires at least 4096)."""
    certificate_days: int = Field(default=730, ge=1)
    """How long a certificate of the instance CA is valid."""

    def sender_scopes_of(self, portal_id: str) -> tuple[str, ...]:
        """What ``portal_id`` may be granted."""
        return tuple(self.sender_scopes.get(portal_id, [SEND_EVERYWHERE]))
