"""An authority's private keys (JWK files): decrypt deliveries, sign receipts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from joserfc import jwe, jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from contracts.limits import (
    JWE_ENCRYPTED_KEY_BYTES,
    JWE_HEADER_BYTES,
    MAX_METADATA_BYTES,
    MAX_PART_BYTES,
    base64url_length,
)
from contracts.messages import JWE_ALG, JWE_ENC
from contracts.receipts import RECEIPT_SIGNATURE_ALGORITHMS, b64url_decode

_CURVE_ALGORITHMS = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}


class KeyFileError(Exception):
    """A key file is missing, unreadable, public-only or of the wrong kind."""


class DecryptionError(Exception):
    """A JWE cannot be decrypted with the authority's key (wrong key or damaged data)."""


def read_private_jwk(path: Path) -> dict[str, Any]:
    """A private JWK from a file (RSA or EC)."""
    try:
        jwk = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise KeyFileError(f"{path}: {error}") from error
    if not isinstance(jwk, dict) or "d" not in jwk or jwk.get("kty") not in ("RSA", "EC"):
        raise KeyFileError(f"{path}: not a private RSA or EC JWK")
    return jwk


def jwe_registry(max_plaintext_bytes: int) -> jwe.JWERegistry:
    """The JWE algorithms of deliveries, with size limits for ``max_plaintext_bytes``.

    joserfc's defaults (64 KB of ciphertext) would refuse every real attachment; these
    limits admit exactly what Amtsweg can deliver (``contracts.limits``) and refuse more.
    """
    registry = jwe.JWERegistry(algorithms=[JWE_ALG, JWE_ENC])
    registry.max_protected_header_length = JWE_HEADER_BYTES
    registry.max_encrypted_key_length = JWE_ENCRYPTED_KEY_BYTES
    registry.max_ciphertext_length = base64url_length(max_plaintext_bytes)
    registry.max_aad_length = JWE_HEADER_BYTES
    return registry


class Decrypter:
    """Decrypts JWE compact serializations addressed to one RSA key.

    ``max_part_bytes``: the largest plaintext it opens (the intake's part limit; the
    metadata limit if that is larger).
    """

    def __init__(self, jwk: dict[str, Any], max_part_bytes: int = MAX_PART_BYTES) -> None:
        try:
            self._key = RSAKey.import_key(jwk)
        except JoseError as error:
            raise KeyFileError(f"not a usable RSA key: {error.error}") from error
        self.kid = jwk.get("kid")
        self._registry = jwe_registry(max(max_part_bytes, MAX_METADATA_BYTES))

    def decrypt(self, token: str) -> bytes:
        """The plaintext; ``DecryptionError`` when this key cannot open it."""
        try:
            header = json.loads(b64url_decode(token.split(".", 1)[0]))
            addressed = header.get("kid")
            if self.kid and addressed and addressed != self.kid:
                msg = f"encrypted to key {addressed!r}, this key is {self.kid!r}"
                raise DecryptionError(msg)
            opened = jwe.decrypt_compact(token, self._key, registry=self._registry)
        except (JoseError, ValueError) as error:
            raise DecryptionError(str(error) or type(error).__name__) from error
        return opened.plaintext or b""


class Signer:
    """Signs receipts (JWS compact) with the authority's private signing key."""

    def __init__(self, jwk: dict[str, Any]) -> None:
        try:
            self._key = RSAKey.import_key(jwk) if jwk["kty"] == "RSA" else ECKey.import_key(jwk)
        except (JoseError, KeyError) as error:
            raise KeyFileError(f"not a usable signing key: {error}") from error
        default = "PS512" if jwk["kty"] == "RSA" else _CURVE_ALGORITHMS.get(jwk.get("crv", ""))
        alg = jwk.get("alg", default)
        if alg not in RECEIPT_SIGNATURE_ALGORITHMS:
            raise KeyFileError(f"signing algorithm {alg!r} is not allowed for receipts")
        self.alg: str = alg
        self.kid = jwk.get("kid")

    def sign(self, payload: bytes) -> str:
        """The JWS compact serialization of ``payload``."""
        header: dict[str, Any] = {"alg": self.alg, "cty": "application/json"}
        if self.kid:
            header["kid"] = self.kid
        return jws.serialize_compact(header, payload, self._key, algorithms=[self.alg])
