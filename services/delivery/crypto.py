"""JOSE for deliveries (joserfc): JWE to the authority's key, JWS checks of receipts.

Encryption is ``RSA-OAEP-256`` key management with ``A256GCM`` content encryption, the
``kid`` of the authority's key in the protected header, compact serialization.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from joserfc import jwe, jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from contracts.messages import JWE_ALG, JWE_ENC
from contracts.receipts import RECEIPT_SIGNATURE_ALGORITHMS

JWE_ALGORITHMS = (JWE_ALG, JWE_ENC)


class SignatureError(Exception):
    """A signed receipt does not verify with the authority's key."""


class JweSealer:
    """Encrypts to one authority's public key."""

    def __init__(self, jwk: dict[str, Any]) -> None:
        self._key = _imported(json.dumps(jwk, sort_keys=True))
        if self._key.is_private:
            msg = "an encryption key in the directory must be public"
            raise ValueError(msg)
        self.kid = str(jwk["kid"])

    @property
    def public_key(self) -> Any:
        """The key as a ``cryptography`` public key (for JWEs made while streaming)."""
        return self._key.public_key

    def seal(self, plaintext: bytes, content_type: str | None = None) -> str:
        """The JWE compact serialization of ``plaintext``."""
        header: dict[str, Any] = {"alg": JWE_ALG, "enc": JWE_ENC, "kid": self.kid}
        if content_type:
            header["cty"] = content_type
        return jwe.encrypt_compact(header, plaintext, self._key, algorithms=JWE_ALGORITHMS)


@functools.lru_cache(maxsize=1024)
def _imported(jwk: str) -> RSAKey:
    """An authority's key imported once (``jwk`` as canonical JSON): every delivery to it
    encrypts to it, and importing costs more than the key wrapping itself."""
    return RSAKey.import_key(json.loads(jwk))


def verify_signed_receipt(
    compact: str, jwk: dict[str, Any], max_payload_bytes: int | None = None
) -> bytes:
    """The payload of a receipt JWS if ``jwk`` verifies it; ``SignatureError`` otherwise.

    ``max_payload_bytes``: the largest payload taken (joserfc's default, 128 000 bytes of
    base64url, is enough for a receipt; a reply with documents needs more).
    """
    allowed = [jwk["alg"]] if "alg" in jwk else RECEIPT_SIGNATURE_ALGORITHMS
    algorithms = [a for a in allowed if a in RECEIPT_SIGNATURE_ALGORITHMS]
    registry = jws.JWSRegistry(algorithms=algorithms)
    if max_payload_bytes is not None:
        registry.max_payload_length = (max_payload_bytes * 4 + 2) // 3  # as base64url
    try:
        key = RSAKey.import_key(jwk) if jwk.get("kty") == "RSA" else ECKey.import_key(jwk)
        header = jws.extract_compact(compact.encode(), registry=registry).protected
        if "kid" in header and header["kid"] != jwk.get("kid"):
            raise SignatureError("signed with another key (kid)")
        return jws.deserialize_compact(compact, key, registry=registry).payload
    except JoseError as error:
        raise SignatureError(error.error) from error


def check_keys(encryption: dict[str, Any] | None, verification: dict[str, Any] | None) -> None:
    """Import both keys as dispatch and receipt checks would; ``ValueError`` if unusable."""
    try:
        if encryption is not None:
            JweSealer(encryption)
        if verification is not None:
            kty = verification.get("kty")
            key = (
                RSAKey.import_key(verification) if kty == "RSA" else ECKey.import_key(verification)
            )
            if key.is_private:
                raise ValueError("a verification key in the directory must be public")
    except JoseError as error:
        raise ValueError(f"unusable key: {error.error}") from error
