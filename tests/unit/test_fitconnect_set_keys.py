"""The event log's signing keys: RSA of at least 4096 bits, required outside development."""

from __future__ import annotations

from pathlib import Path

import pytest
from joserfc.jwk import RSAKey

from services.fitconnect.set_keys import (
    SetKeyError,
    SetKeys,
    create_key_file,
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
