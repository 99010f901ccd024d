"""The event log's signing keys: RSA of at least 4096 bits, required outside development."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from services.fitconnect.certificates import InstanceCA, x5c_of
from services.fitconnect.set_keys import (
    SetKeyError,
    SetKeys,
    create_key_file,
    new_set_key,
    rotate_key_file,
    set_keys,
)


def test_the_published_set_holds_public_halves_of_every_key(tmp_path: Path) -> None:
    path = tmp_path / "set.json"
    first = create_key_file(path)
    rotated = rotate_key_file(path)

    published = rotated.published()["keys"]
    assert [key["kid"] for key in published] == [rotated.kid, first.kid]
    assert all(key["alg"] == "PS512" and key["use"] == "sig" for key in published)
    assert all("d" not in key and "p" not in key for key in published)


def test_a_short_rsa_key_is_refused() -> None:
    short = RSAKey.generate_key(2048, parameters={"kid": "short"}, private=True)
    with pytest.raises(SetKeyError, match="4096"):
        SetKeys({"keys": [short.as_dict(private=True)]})


def test_outside_development_the_setting_is_required(tmp_path: Path) -> None:
    with pytest.raises(SetKeyError, match="AMTSWEG_FITCONNECT_SET_KEYS_FILE"):
        set_keys(None, tmp_path, development=False)
    made = set_keys(None, tmp_path, development=True)
    assert set_keys(None, tmp_path, development=True).kid == made.kid


def test_published_keys_carry_key_ops_and_the_x5c_the_spec_requires() -> None:
    ca = InstanceCA.generate()
    certified: list[str] = []

    def certify(kid: str, public_key: rsa.RSAPublicKey) -> list[str]:
        certified.append(kid)
        return x5c_of(ca.certify_signing(public_key, kid, days=30))

    own = new_set_key() | {"x5c": ["b3duLWNlcnRpZmljYXRl"]}
    plain = new_set_key()
    keys = SetKeys({"keys": [plain, own]}, certify)

    published = {key["kid"]: key for key in keys.published()["keys"]}
    assert certified == [plain["kid"]]  # once, at import; an operator's x5c is kept
    assert all(key["key_ops"] == ["verify"] for key in published.values())
    assert published[own["kid"]]["x5c"] == own["x5c"]
    leaf = x509.load_der_x509_certificate(base64.b64decode(published[plain["kid"]]["x5c"][0]))
    certified_key = leaf.public_key()
    assert isinstance(certified_key, rsa.RSAPublicKey)
    assert (
        certified_key.public_numbers().n == RSAKey.import_key(plain).public_key.public_numbers().n
    )
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert not usage.key_encipherment
    assert "x5c" not in SetKeys({"keys": [plain]}).published()["keys"][0]
