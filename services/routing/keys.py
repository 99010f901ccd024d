"""Checks of the public keys and callback URL an authority entry may carry.

Keys are JWKs (RFC 7517), public parts only: the directory is configuration that many
people read, so a private member (``d``, ``p``, ``k`` …) is refused outright. The
encryption key is RSA (for ``RSA-OAEP-256``, as FIT-Connect requires); the verification
key, which checks signed receipts, is RSA or EC.
"""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import urlsplit

PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MIN_RSA_BITS = 2048
_EC_CURVES = frozenset({"P-256", "P-384", "P-521"})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def check_jwk(jwk: object, purpose: str) -> list[str]:
    """Problems of a public JWK for ``purpose`` ``"encryption"`` or ``"verification"``."""
    if not isinstance(jwk, dict):
        return ["must be a JWK object"]
    problems = []
    private = sorted(PRIVATE_MEMBERS & set(jwk))
    if private:
        problems.append(f"holds private key members {private}: give the public key only")
    if not isinstance(jwk.get("kid"), str) or not jwk["kid"]:
        problems.append("needs a 'kid'")
    allowed = ("RSA",) if purpose == "encryption" else ("RSA", "EC")
    kty = jwk.get("kty")
    if kty not in allowed:
        problems.append(f"kty must be one of {allowed}")
    elif kty == "RSA":
        problems.extend(_rsa_problems(jwk))
    elif jwk.get("crv") not in _EC_CURVES or not jwk.get("x") or not jwk.get("y"):
        problems.append(f"an EC key needs crv in {sorted(_EC_CURVES)}, x and y")
    use = "enc" if purpose == "encryption" else "sig"
    if jwk.get("use", use) != use:
        problems.append(f"'use' must be {use!r}")
    if purpose == "encryption" and jwk.get("alg", "RSA-OAEP-256") != "RSA-OAEP-256":
        problems.append("'alg' must be RSA-OAEP-256")
    return problems


def _rsa_problems(jwk: dict[str, object]) -> list[str]:
    modulus, exponent = jwk.get("n"), jwk.get("e")
    if not isinstance(modulus, str) or not isinstance(exponent, str):
        return ["an RSA key needs n and e"]
    try:
        bits = len(base64.urlsafe_b64decode(modulus + "=" * (-len(modulus) % 4))) * 8
    except (binascii.Error, ValueError):
        return ["n is not base64url"]
    return [] if bits >= MIN_RSA_BITS else [f"RSA keys need at least {MIN_RSA_BITS} bits"]


def canonical_jwk(jwk: dict[str, object]) -> str:
    """The JWK as canonical JSON text (immutable and hashable inside the directory)."""
    return json.dumps(jwk, sort_keys=True, separators=(",", ":"))


def check_callback_url(url: object) -> list[str]:
    """Problems of a callback URL: HTTPS, or plain HTTP only to a loopback address."""
    if not isinstance(url, str) or not url:
        return ["must be a URL"]
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return []
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return []  # a receiver on the same machine (development, tests)
    return ["must be https:// (http:// only for a loopback address)"]
