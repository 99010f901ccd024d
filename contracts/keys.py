"""The key pairs a receiving authority registers: one to encrypt to, one to sign receipts.

Both are RSA JWKs (RFC 7517). The encryption key is for ``RSA-OAEP-256`` (FIT-Connect's
key management), the signing key for ``PS512``; their ``kid`` is the given prefix with
``-enc`` and ``-sig``. The public halves go into the authority directory (``keys.encryption``
and ``keys.verification``); the private halves stay with the authority. Amtsweg's
development keys and ``amtsweg authority keys`` are both made here, so they look alike.
"""

from __future__ import annotations

from typing import Any

from joserfc.jwk import RSAKey

from contracts.messages import JWE_ALG

_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth"})

SIGNATURE_ALG = "PS512"
"""The algorithm of the receipts signed with a generated key."""


def generate_keys(kid: str, rsa_bits: int = 4096) -> dict[str, dict[str, Any]]:
    """A new encryption key pair and signing key pair, as JWKs.

    Keys: ``encryption-private``, ``encryption-public``, ``signing-private``,
    ``signing-public``.
    """
    encryption = RSAKey.generate_key(
        rsa_bits, parameters={"kid": f"{kid}-enc", "use": "enc", "alg": JWE_ALG}
    )
    signing = RSAKey.generate_key(
        rsa_bits, parameters={"kid": f"{kid}-sig", "use": "sig", "alg": SIGNATURE_ALG}
    )
    return {
        "encryption-private": encryption.as_dict(private=True),
        "encryption-public": encryption.as_dict(private=False),
        "signing-private": signing.as_dict(private=True),
        "signing-public": signing.as_dict(private=False),
    }


def public_half(private_jwk: dict[str, Any]) -> dict[str, Any]:
    """The public JWK of a private RSA JWK: every member but the private ones."""
    return {name: value for name, value in private_jwk.items() if name not in _PRIVATE_MEMBERS}
