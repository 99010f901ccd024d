"""``amtsweg keys create-checkpoint-key`` and ``amtsweg checkpoint write`` on a SQLite ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from events.checkpoint_keys import CheckpointSigner, PublicKeys
from events.ledger import Ledger
from services.ops.cli import support as cli_support
from services.ops.cli.main import app
from tests.support.factories import new_submission


@pytest.fixture
def amtsweg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """``amtsweg`` on the ledger in ``tmp_path``, no checkpoint setting, not in development."""
    monkeypatch.setattr(cli_support, "console", Console(width=250))
    return CliRunner(
        env={
            "AMTSWEG_DATA_DIR": str(tmp_path),
            "AMTSWEG_LEDGER_URL": None,
            "AMTSWEG_DEVELOPMENT": None,
            "AMTSWEG_CHECKPOINT_DIR": None,
            "AMTSWEG_CHECKPOINT_SIGNING_KEY_FILE": None,
            "AMTSWEG_CHECKPOINT_PUBLIC_KEYS_FILE": None,
        }
    )


def _run(amtsweg: CliRunner, *args: str, env: dict[str, str] | None = None) -> Result:
    return amtsweg.invoke(app, list(args), env=env)


def test_create_checkpoint_key_writes_the_key_and_adds_its_public_half(
    amtsweg: CliRunner, tmp_path: Path
) -> None:
    public = tmp_path / "public.jwks.json"
    first = _run(
        amtsweg,
        "keys",
        "create-checkpoint-key",
        str(tmp_path / "a.jwk"),
        "--public-keys",
        str(public),
    )
    assert first.exit_code == 0, first.output
    signer = CheckpointSigner.read(tmp_path / "a.jwk")
    assert f"kid {signer.kid}" in first.output
    assert (tmp_path / "a.jwk").stat().st_mode & 0o777 == 0o600

    again = _run(
        amtsweg,
        "keys",
        "create-checkpoint-key",
        str(tmp_path / "a.jwk"),
        "--public-keys",
        str(public),
    )
    assert again.exit_code == 1
    assert "never overwritten" in again.output
    assert CheckpointSigner.read(tmp_path / "a.jwk").kid == signer.kid

    rotated = _run(
        amtsweg,
        "keys",
        "create-checkpoint-key",
        str(tmp_path / "b.jwk"),
        "--public-keys",
        str(public),
    )
    assert rotated.exit_code == 0, rotated.output
    newer = CheckpointSigner.read(tmp_path / "b.jwk")
    assert set(PublicKeys.read(public).keys) == {signer.kid, newer.kid}


def test_outside_development_checkpoints_need_their_settings(
    amtsweg: CliRunner, ledger: Ledger
) -> None:
    ledger.save(new_submission())
    written = _run(amtsweg, "checkpoint", "write")
    assert written.exit_code == 1
    assert "AMTSWEG_CHECKPOINT_DIR is not set" in written.output
    verified = _run(amtsweg, "verify", "--checkpoint")
    assert verified.exit_code == 2
    assert "AMTSWEG_CHECKPOINT_DIR is not set" in verified.output


def test_in_development_the_first_checkpoint_makes_its_key(
    amtsweg: CliRunner, ledger: Ledger, tmp_path: Path
) -> None:
    development = {"AMTSWEG_DEVELOPMENT": "true"}
    ledger.save(new_submission())
    written = _run(amtsweg, "checkpoint", "write", "--json", env=development)
    assert written.exit_code == 0, written.output
    answer = json.loads(written.stdout)
    assert (answer["sequence"], answer["position"], answer["events"]) == (1, 1, 1)
    assert (tmp_path / "checkpoints" / "checkpoint-000000000001.json").exists()
    assert (tmp_path / "keys" / "checkpoint-signing.jwk.json").exists()
    verified = _run(amtsweg, "verify", "--checkpoint", env=development)
    assert verified.exit_code == 0, verified.output
    assert "1 checkpoint(s) verified, 0 finding(s)" in verified.output


def test_verify_checkpoint_takes_no_submission_id(amtsweg: CliRunner, ledger: Ledger) -> None:
    submission = new_submission()
    ledger.save(submission)
    result = _run(amtsweg, "verify", str(submission.id), "--checkpoint")
    assert result.exit_code == 2
    assert "give no id" in result.output
