"""``amtsweg authority keys`` and the receiver's refusal of unusable keys (no broker needed)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from typer.testing import CliRunner

from services.ops.cli.main import app
from services.routing.keys import check_jwk
from tests.support.authority import encryption_key, public, write_jwk


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
