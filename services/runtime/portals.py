"""The portals Amtsweg answers: where replies reach them, and the key they are sealed to.

A portal is known by its token already (``AMTSWEG_PORTAL_TOKENS``); what comes back to it
— an authority's replies, a request's passed deadline — reaches it on its own topic
``amtsweg.portal.<portal-id>`` (unless it takes none), by a signed callback when it names
a URL, and always by pulling (``GET /v1/submissions/{id}/replies``). A portal that
registers an RSA encryption key (JWK, ``RSA-OAEP-256``) gets reply content and parts only
as JWE to it.

Configured by ``AMTSWEG_PORTALS_FILE``, a JSON document::

    {"portals": [{"portalId": "sozialplattform", "callbackUrl": "https://…/amtsweg",
                  "encryptionKey": {"kty": "RSA", …}, "topic": true}]}

and ``AMTSWEG_PORTALS_CALLBACK_SECRETS`` (portal id → HMAC secret of its callbacks; a
callback URL without a secret refuses to start). A portal the file does not name takes
replies on its topic and by pulling, unencrypted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts import topics


class PortalConfigError(Exception):
    """The portal directory cannot be used as configured."""


class PortalEntry(BaseModel):
    """One portal in ``AMTSWEG_PORTALS_FILE``."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    portal_id: str = Field(alias="portalId", min_length=1, max_length=100)
    callback_url: str | None = Field(default=None, alias="callbackUrl")
    encryption_key: dict[str, Any] | None = Field(default=None, alias="encryptionKey")
    topic: bool = Field(default=True, description="replies also go to amtsweg.portal.<id>")


class PortalDirectoryFile(BaseModel):
    """The document ``AMTSWEG_PORTALS_FILE`` names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    portals: list[PortalEntry] = Field(default_factory=list)


@dataclass(frozen=True)
class Portal:
    """What Amtsweg knows about sending back to one portal."""

    portal_id: str
    topic: str | None
    """Its topic ``amtsweg.portal.<portal-id>``, or None: it takes no replies on Kafka."""
    callback_url: str | None = None
    callback_secret: str | None = None
    encryption_jwk: dict[str, Any] | None = None
    """Its public RSA key (JWK): reply content and parts are sealed to it."""


class Portals:
    """Every portal, by id (a portal not configured gets the defaults)."""

    def __init__(self, entries: Mapping[str, Portal]) -> None:
        self._entries = dict(entries)

    def get(self, portal_id: str) -> Portal:
        """The portal's reply channels (its topic, when its id can name one)."""
        known = self._entries.get(portal_id)
        if known is not None:
            return known
        return Portal(portal_id, _topic_of(portal_id))

    def with_callbacks(self) -> list[Portal]:
        """The portals that take callbacks."""
        return [p for p in self._entries.values() if p.callback_url]


class PortalSettings(BaseSettings):
    """Where the portal directory is (environment, prefix ``AMTSWEG_PORTALS_``)."""

    model_config = SettingsConfigDict(env_prefix="AMTSWEG_PORTALS_", extra="ignore")

    file: Path | None = None
    """The portal directory (JSON); None: every portal gets the defaults."""
    callback_secrets: dict[str, SecretStr] = Field(
        default_factory=dict, description="portal id -> the HMAC secret of its callbacks"
    )

    def portals(self) -> Portals:
        """The configured portals; ``PortalConfigError`` when the file does not fit."""
        if self.file is None:
            return Portals({})
        try:
            document = PortalDirectoryFile.model_validate(json.loads(self.file.read_bytes()))
        except (OSError, ValueError, ValidationError) as error:
            msg = f"AMTSWEG_PORTALS_FILE ({self.file}): {str(error).splitlines()[0]}"
            raise PortalConfigError(msg) from error
        entries: dict[str, Portal] = {}
        for entry in document.portals:
            secret = self.callback_secrets.get(entry.portal_id)
            if entry.callback_url and secret is None:
                msg = (
                    f"portal {entry.portal_id} has a callbackUrl but no secret: set"
                    f' AMTSWEG_PORTALS_CALLBACK_SECRETS=\'{{"{entry.portal_id}": "…"}}\''
                )
                raise PortalConfigError(msg)
            _check_key(entry)
            entries[entry.portal_id] = Portal(
                entry.portal_id,
                _topic_of(entry.portal_id) if entry.topic else None,
                entry.callback_url,
                secret.get_secret_value() if secret else None,
                entry.encryption_key,
            )
        return Portals(entries)


def _topic_of(portal_id: str) -> str | None:
    try:
        return topics.portal_topic(portal_id)
    except ValueError:
        return None


def _check_key(entry: PortalEntry) -> None:
    key = entry.encryption_key
    if key is None:
        return
    if key.get("kty") != "RSA" or key.get("alg", "RSA-OAEP-256") != "RSA-OAEP-256" or "d" in key:
        msg = f"portal {entry.portal_id}: encryptionKey must be a public RSA-OAEP-256 JWK"
        raise PortalConfigError(msg)
