"""Amtsweg's envelope signing keys: a JWK Set file whose first key signs, all are published.

``AMTSWEG_DELIVERY_SIGNING_KEYS_FILE`` names a JWK Set (``{"keys": [...]}``, mode 0600) of
P-256 keys (ES256). The first key must be private: it signs every envelope published from
now on. The others are kept so that receivers can still check envelopes they signed
(a reminder republishes an old envelope, but signs it anew): they may be private or only
the public half. Every key's public half is published at ``GET /v1/keys``.

Rotation: ``amtsweg keys rotate-signing-key <file>`` puts a new key first; restart the
processes that sign (relay, HTTP API). Receivers that fetch the set learn the new key when
they see its ``kid``. Drop the old key after the longest time an envelope waits for a
receipt (escalation, 14 days by default).

In development (``AMTSWEG_DEVELOPMENT``) the set is made on first need in
``<data dir>/keys/envelope-signing.jwks.json``; outside it, a missing setting refuses to
start with a message that says what to set.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from contracts.confirmation import Confirmation, sign_confirmation
from contracts.envelope_signature import ENVELOPE_SIGNATURE_ALG, SigningKey, sign_envelope
from contracts.keys import public_half
from services.runtime.key_files import create_key_set, read_or_create, rotate_key_set

DEVELOPMENT_FILE = Path("keys") / "envelope-signing.jwks.json"
"""The development key set inside the data dir."""


class SigningKeyError(Exception):
    """The envelope signing keys are not configured, unreadable, or unusable."""


class EnvelopeSigner:
    """Signs envelopes with the active key; knows every key to publish."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        keys = jwks.get("keys") if isinstance(jwks, dict) else None
        if not isinstance(keys, list) or not keys:
            raise SigningKeyError("the envelope signing key set has no keys")
        for jwk in keys:
            _check(jwk)
        if "d" not in keys[0]:
            raise SigningKeyError("the first envelope signing key must be private (it signs)")
        if len({jwk["kid"] for jwk in keys}) != len(keys):
            raise SigningKeyError("two envelope signing keys have the same kid")
        self._active: dict[str, Any] = keys[0]
        self._signing = SigningKey.of(keys[0])
        self._public = [public_half(jwk) for jwk in keys]

    @property
    def kid(self) -> str:
        """The ``kid`` of the key that signs."""
        return str(self._active["kid"])

    def sign(self, envelope: bytes) -> str:
        """The detached JWS of the envelope's bytes (``contracts.envelope_signature``)."""
        return sign_envelope(envelope, self._signing)

    def sign_confirmation(self, confirmation: Confirmation) -> str:
        """The compact JWS of a proof of receipt (``contracts.confirmation``), by the same
        key: a portal verifies it with the keys published for envelopes."""
        return sign_confirmation(confirmation, self._signing)

    def jwks(self) -> dict[str, Any]:
        """The public JWK Set: every key, the active one first."""
        return {"keys": [dict(jwk) for jwk in self._public]}

    @classmethod
    def read(cls, path: Path) -> EnvelopeSigner:
        """The key set in ``path``; ``SigningKeyError`` naming what is wrong."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SigningKeyError(f"the envelope signing key file {path} does not exist") from None
        except (OSError, ValueError) as error:
            msg = f"the envelope signing key file {path} cannot be read ({type(error).__name__})"
            raise SigningKeyError(msg) from None
        try:
            return cls(document)
        except SigningKeyError as error:
            raise SigningKeyError(f"{path}: {error}") from None


def _check(jwk: object) -> None:
    if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
        raise SigningKeyError("every envelope signing key needs a kid")
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise SigningKeyError(f"key {jwk['kid']!r}: envelope signing keys are P-256 (ES256)")
    try:
        ECKey.import_key(jwk)
    except JoseError as error:
        raise SigningKeyError(f"key {jwk['kid']!r} is not usable: {error.error}") from None


def new_signing_key() -> dict[str, Any]:
    """A new private P-256 JWK for envelopes, its kid dated."""
    kid = f"amtsweg-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"
    key = ECKey.generate_key(
        "P-256", parameters={"kid": kid, "use": "sig", "alg": ENVELOPE_SIGNATURE_ALG}
    )
    return key.as_dict(private=True)


def create_key_file(path: Path) -> EnvelopeSigner:
    """A new key set with one key at ``path`` (mode 0600); ``FileExistsError`` if there is
    one (written aside and linked into place: another process reads it whole or not)."""
    return EnvelopeSigner(create_key_set(path, new_signing_key))


def rotate_key_file(path: Path) -> EnvelopeSigner:
    """Put a new key first in the set at ``path``; the others stay (published, not signing)."""
    EnvelopeSigner.read(path)  # a usable set, or the message why not
    return EnvelopeSigner(rotate_key_set(path, new_signing_key))


def envelope_signer(key_file: Path | None, data_dir: Path, *, development: bool) -> EnvelopeSigner:
    """The configured signer; in development one is made in the data dir if none is set."""
    if key_file is not None:
        return EnvelopeSigner.read(key_file)
    if not development:
        msg = (
            "AMTSWEG_DELIVERY_SIGNING_KEYS_FILE is not set: outside development mode Amtsweg "
            "signs every delivery envelope with its own key (a JWK Set of P-256 keys, the "
            "first one signing; create one with `amtsweg keys create-signing-key <file>`), "
            "or set AMTSWEG_DEVELOPMENT=1 on a development machine"
        )
        raise SigningKeyError(msg)
    return read_or_create(data_dir / DEVELOPMENT_FILE, EnvelopeSigner.read, create_key_file)
