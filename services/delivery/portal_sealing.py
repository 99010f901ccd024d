"""JWE to a portal's registered encryption key (``AMTSWEG_PORTALS_FILE``, ``encryptionKey``).

As for authorities (:class:`~services.delivery.crypto.JweSealer`): ``RSA-OAEP-256`` with
``A256GCM``, compact serialization, the media type of the plaintext as ``cty``. A portal's
key without a ``kid`` is named by its RFC 7638 thumbprint.
"""

from __future__ import annotations

from typing import Any

from joserfc.jwk import RSAKey

from services.delivery.crypto import JweSealer


def seal_to_portal(content: bytes, media_type: str, jwk: dict[str, Any]) -> str:
    """The JWE compact serialization of ``content`` to the portal's public key ``jwk``."""
    kid = jwk.get("kid") or RSAKey.import_key(jwk).thumbprint()
    return JweSealer({**jwk, "kid": kid}).seal(content, media_type)
