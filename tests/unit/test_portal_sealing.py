"""JWE to a portal's key: opened with its private key; a key without kid is named by its
thumbprint."""

from __future__ import annotations

from joserfc import jwe
from joserfc.jwk import RSAKey

from services.delivery.crypto import JWE_ALGORITHMS
from services.delivery.portal_sealing import seal_to_portal
from tests.support.authority import encryption_key, public


def test_the_portal_opens_what_is_sealed_to_its_key() -> None:
    private = encryption_key("portal-enc-1")
    token = seal_to_portal(b"%PDF Bescheid", "application/pdf", public(private))
    opened = jwe.decrypt_compact(token, RSAKey.import_key(private), algorithms=list(JWE_ALGORITHMS))
    assert opened.plaintext == b"%PDF Bescheid"
    assert opened.protected["cty"] == "application/pdf"


def test_a_key_without_kid_is_named_by_its_thumbprint() -> None:
    private = encryption_key("portal-enc-2")
    unnamed = {k: v for k, v in public(private).items() if k != "kid"}
    token = seal_to_portal(b"x", "text/plain", unnamed)
    opened = jwe.decrypt_compact(token, RSAKey.import_key(private), algorithms=list(JWE_ALGORITHMS))
    assert opened.protected["kid"] == RSAKey.import_key(unnamed).thumbprint()
