"""Amtsweg's envelope signing keys: required outside development, made in it, rotated."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from contracts.envelope_signature import keys_by_id, verify_envelope
from contracts.keys import public_half
from services.delivery.signing import (
    DEVELOPMENT_FILE,
    EnvelopeSigner,
    SigningKeyError,
    envelope_signer,
    new_signing_key,
)
from services.ops.cli.main import app as cli

ENVELOPE = b'{"schemaVersion":2,"deliveryId":"d-1"}'


def test_outside_development_a_missing_key_file_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="AMTSWEG_DELIVERY_SIGNING_KEYS_FILE is not set"):
        envelope_signer(None, tmp_path, development=False)
    assert not (tmp_path / DEVELOPMENT_FILE).exists()


def test_in_development_the_key_set_is_made_once_in_the_data_dir(tmp_path: Path) -> None:
    first = envelope_signer(None, tmp_path, development=True)
    again = envelope_signer(None, tmp_path, development=True)
    assert first.kid == again.kid
    path = tmp_path / DEVELOPMENT_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert verify_envelope(ENVELOPE, again.sign(ENVELOPE), keys_by_id(first.jwks())) == first.kid


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ([], "no keys"),
        ([public_half(new_signing_key())], "first .* must be private"),
        ([{"kty": "RSA", "kid": "r"}], "P-256"),
        ([dict(new_signing_key(), kid="a"), dict(new_signing_key(), kid="a")], "same kid"),
    ],
)
def test_unusable_key_sets_are_refused(keys: list[dict[str, str]], message: str) -> None:
    with pytest.raises(SigningKeyError, match=message):
        EnvelopeSigner({"keys": keys})


def test_rotation_signs_with_the_new_key_and_still_publishes_the_old(tmp_path: Path) -> None:
    path = tmp_path / "signing.jwks.json"
    runner = CliRunner()
    created = runner.invoke(cli, ["keys", "create-signing-key", str(path)])
    assert created.exit_code == 0, created.output
    old = EnvelopeSigner.read(path)
    old_signature = old.sign(ENVELOPE)
    assert runner.invoke(cli, ["keys", "create-signing-key", str(path)]).exit_code != 0
    rotated = runner.invoke(cli, ["keys", "rotate-signing-key", str(path)])
    assert rotated.exit_code == 0, rotated.output
    new = EnvelopeSigner.read(path)
    assert new.kid != old.kid
    published = new.jwks()
    assert [jwk["kid"] for jwk in published["keys"]] == [new.kid, old.kid]
    assert all("d" not in jwk for jwk in published["keys"])
    keys = keys_by_id(published)
    assert verify_envelope(ENVELOPE, old_signature, keys) == old.kid  # still on a topic
    assert verify_envelope(ENVELOPE, new.sign(ENVELOPE), keys) == new.kid
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(json.loads(path.read_text())["keys"]) == 2
