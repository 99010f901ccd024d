"""``amtsweg authority keys``, the receiver's keys: refused when unusable, development keys
when none are given (no broker needed)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from receiver.consume import ReceiverConfig, Summary
from services.delivery.dev_keys import DevelopmentKeys
from services.ops.cli import authority
from services.ops.cli.main import app
from services.routing.keys import check_jwk
from tests.support.authority import KOELN, encryption_key, public, write_jwk


def test_keys_writes_private_halves_privately_and_public_halves_the_directory_takes(
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(
        app,
        [
            "authority",
            "keys",
            "--kid",
            "jobcenter-koeln-2026",
            "--out",
            str(tmp_path),
            "--bits",
            "2048",
        ],
    )
    assert result.exit_code == 0, result.output
    files = {p.name: p for p in tmp_path.iterdir()}
    assert sorted(files) == [
        "encryption-private.jwk.json",
        "encryption-public.jwk.json",
        "signing-private.jwk.json",
        "signing-public.jwk.json",
    ]
    assert stat.S_IMODE(files["encryption-private.jwk.json"].stat().st_mode) == 0o600
    encryption = json.loads(files["encryption-public.jwk.json"].read_text())
    verification = json.loads(files["signing-public.jwk.json"].read_text())
    assert check_jwk(encryption, "encryption") == []
    assert check_jwk(verification, "verification") == []
    assert encryption["kid"] == "jobcenter-koeln-2026-enc"
    assert "d" in json.loads(files["signing-private.jwk.json"].read_text())
    again = CliRunner().invoke(app, ["authority", "keys", "--kid", "x", "--out", str(tmp_path)])
    assert again.exit_code != 0  # never overwrites a key


def test_consume_refuses_a_public_key_before_connecting(tmp_path: Path) -> None:
    key = write_jwk(tmp_path / "public.jwk.json", public(encryption_key()))
    result = CliRunner().invoke(
        app,
        [
            "authority",
            "consume",
            "--authority",
            "jobcenter-koeln",
            "--out",
            str(tmp_path / "out"),
            "--key",
            str(key),
            "--bootstrap-servers",
            "127.0.0.1:1",
        ],
    )
    assert result.exit_code == 1
    assert "not a private RSA or EC JWK" in result.output


def _consume_with(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, *options: str, development: bool = False
) -> tuple[Result, list[ReceiverConfig]]:
    """``amtsweg authority consume`` for Köln, with the receiver loop replaced by a recorder."""
    configs: list[ReceiverConfig] = []

    async def record(config: ReceiverConfig) -> Summary:
        configs.append(config)
        return Summary()

    monkeypatch.setattr(authority, "consume", record)
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(data_dir))
    monkeypatch.setenv("AMTSWEG_DEVELOPMENT", "true" if development else "false")
    arguments = ["authority", "consume", "--authority", KOELN, "--out", str(data_dir / "out")]
    result = CliRunner().invoke(app, [*arguments, "--bootstrap-servers", "kafka:9092", *options])
    return result, configs


def test_consume_without_key_files_uses_the_development_keys_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = DevelopmentKeys(tmp_path / "authority-keys").get(KOELN)  # as delivery made them

    result, (config,) = _consume_with(monkeypatch, tmp_path)

    assert result.exit_code == 0, result.output
    assert "development keys" in result.output
    assert config.decryption_key == made.encryption
    assert config.signing_key == made.signing


def test_consume_takes_a_given_key_file_over_the_development_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = DevelopmentKeys(tmp_path / "authority-keys").get(KOELN)
    key = write_jwk(tmp_path / "encryption.jwk.json", encryption_key())

    result, (config,) = _consume_with(monkeypatch, tmp_path, "--key", str(key))

    assert result.exit_code == 0, result.output
    assert config.decryption_key == encryption_key()
    assert config.signing_key == made.signing  # the half not given


def test_consume_in_development_makes_the_keys_delivery_will_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, (config,) = _consume_with(monkeypatch, tmp_path, development=True)

    assert result.exit_code == 0, result.output
    found = DevelopmentKeys(tmp_path / "authority-keys").find(KOELN)
    assert found is not None
    assert config.decryption_key == found.encryption


def test_consume_outside_development_makes_no_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, (config,) = _consume_with(monkeypatch, tmp_path)

    assert result.exit_code == 0, result.output
    assert config.decryption_key is None
    assert config.signing_key is None
    assert not (tmp_path / "authority-keys").exists()
