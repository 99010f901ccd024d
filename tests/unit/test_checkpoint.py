"""Signed checkpoints: signature, key ids, the chain of digests, and the fold of heads."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from events.chain import GENESIS
from events.checkpoint import Checkpoint, CheckpointError, Head, fold, read_document
from events.checkpoint import signed_document as sign_checkpoint
from events.checkpoint_keys import (
    CheckpointKeyError,
    CheckpointSigner,
    PublicKeys,
    create_key,
    thumbprint,
)
from events.checkpoint_settings import CheckpointSettings

A, B = "a" * 8 + "-0000-0000-0000-" + "0" * 12, "b" * 8 + "-0000-0000-0000-" + "0" * 12


def _signer() -> CheckpointSigner:
    return CheckpointSigner(Ed25519PrivateKey.generate())


def _keys(*signers: CheckpointSigner) -> PublicKeys:
    return PublicKeys({s.kid: s.public for s in signers})


def _chain(signer: CheckpointSigner, *rounds: dict[str, Head]) -> list[tuple[str, bytes]]:
    """Checkpoint files as the writer makes them: one per round of changed heads."""
    files: list[tuple[str, bytes]] = []
    previous: Checkpoint | None = None
    heads: dict[str, Head] = {}
    for sequence, changed in enumerate(rounds, start=1):
        heads.update(changed)
        checkpoint = Checkpoint(
            kid=signer.kid,
            sequence=sequence,
            created_at="2026-01-01T00:00:00+00:00",
            position=sum(h.version for h in heads.values()),
            events=sum(h.version for h in heads.values()),
            previous=previous.digest() if previous else GENESIS,
            heads=changed,
        )
        files.append((f"checkpoint-{sequence:012d}.json", sign_checkpoint(checkpoint, signer.sign)))
        previous = checkpoint
    return files


ROUNDS = ({A: Head(2, "h-a2")}, {B: Head(1, "h-b1")}, {A: Head(4, "h-a4")})


def test_the_key_id_is_the_rfc_7638_thumbprint() -> None:
    """RFC 8037, appendix A.3: the thumbprint of its Ed25519 example key."""
    x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "="))
    assert thumbprint(public) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_the_fold_of_a_chain_is_every_head_as_of_the_latest() -> None:
    signer = _signer()
    folded = fold(_chain(signer, *ROUNDS), _keys(signer).verify)
    assert folded.findings == []
    assert folded.verified == 3
    assert folded.heads == {A: Head(4, "h-a4"), B: Head(1, "h-b1")}
    assert folded.latest is not None
    assert folded.latest.events == 5


def test_an_edited_checkpoint_is_refused() -> None:
    signer = _signer()
    files = _chain(signer, *ROUNDS)
    name, document = files[1]
    outer = json.loads(document)
    outer["payload"]["heads"][B]["version"] = 7
    files[1] = (name, json.dumps(outer).encode())
    folded = fold(files, _keys(signer).verify)
    assert [(f.kind, f.subject) for f in folded.findings] == [
        ("checkpoint-forged", name),
        ("checkpoint-missing", files[2][0]),  # it no longer follows a verified one
    ]
    assert "signature does not verify" in folded.findings[0].problem


def test_a_checkpoint_signed_by_another_key_is_refused() -> None:
    signer, intruder = _signer(), _signer()
    files = _chain(signer, *ROUNDS)
    forged = _chain(intruder, *ROUNDS)
    with pytest.raises(CheckpointError, match="known key"):
        read_document(forged[0][1], _keys(signer).verify)
    folded = fold([*files[:2], forged[2]], _keys(signer).verify)
    assert [f.kind for f in folded.findings] == ["checkpoint-forged"]
    assert folded.heads[A] == Head(2, "h-a2")  # the forged head is not folded


def test_a_missing_checkpoint_breaks_the_chain_of_digests() -> None:
    signer = _signer()
    files = _chain(signer, *ROUNDS)
    folded = fold([files[0], files[2]], _keys(signer).verify)
    assert [(f.kind, f.subject) for f in folded.findings] == [("checkpoint-missing", files[2][0])]
    assert "checkpoint 3 does not follow checkpoint 1" in folded.findings[0].problem


def test_unknown_fields_in_a_payload_are_refused() -> None:
    signer = _signer()
    ((_, document),) = _chain(signer, ROUNDS[0])
    outer = json.loads(document)
    outer["payload"]["extra"] = 1
    with pytest.raises(CheckpointError):
        read_document(json.dumps(outer).encode(), _keys(signer).verify)
    with pytest.raises(CheckpointError, match="not a signed checkpoint"):
        read_document(b"not json", _keys(signer).verify)


def test_key_files_round_trip_and_rotation_keeps_older_keys(tmp_path: Path) -> None:
    public = tmp_path / "public.jwks.json"
    first = create_key(tmp_path / "first.jwk.json", public)
    second = create_key(tmp_path / "second.jwk.json", public)
    assert (tmp_path / "first.jwk.json").stat().st_mode & 0o777 == 0o600
    assert CheckpointSigner.read(tmp_path / "second.jwk.json").kid == second.kid
    assert set(PublicKeys.read(public).keys) == {first.kid, second.kid}
    with pytest.raises(FileExistsError):
        create_key(tmp_path / "first.jwk.json", public)


def test_a_public_key_whose_kid_is_not_its_thumbprint_is_refused(tmp_path: Path) -> None:
    public = tmp_path / "public.jwks.json"
    create_key(tmp_path / "key.jwk.json", public)
    document = json.loads(public.read_text())
    document["keys"][0]["kid"] = "someone-else"
    public.write_text(json.dumps(document))
    with pytest.raises(CheckpointKeyError, match="thumbprint"):
        PublicKeys.read(public)


def test_outside_development_every_setting_is_required(tmp_path: Path) -> None:
    settings = CheckpointSettings(dir=None, signing_key_file=None, public_keys_file=None)
    with pytest.raises(CheckpointKeyError, match="AMTSWEG_CHECKPOINT_DIR"):
        settings.directory(tmp_path, development=False)
    with pytest.raises(CheckpointKeyError, match="AMTSWEG_CHECKPOINT_SIGNING_KEY_FILE"):
        settings.signer(tmp_path, development=False)
    with pytest.raises(CheckpointKeyError, match="AMTSWEG_CHECKPOINT_PUBLIC_KEYS_FILE"):
        settings.public_keys(tmp_path, development=False)
    assert not any(tmp_path.iterdir())


def test_development_makes_the_keys_in_the_data_dir_once(tmp_path: Path) -> None:
    settings = CheckpointSettings(dir=None, signing_key_file=None, public_keys_file=None)
    signer = settings.signer(tmp_path, development=True)
    assert settings.signer(tmp_path, development=True).kid == signer.kid
    assert set(settings.public_keys(tmp_path, development=True).keys) == {signer.kid}
    assert settings.directory(tmp_path, development=True).path == tmp_path / "checkpoints"
