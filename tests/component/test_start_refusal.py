"""Outside development mode a process lacking a secret it needs refuses to start, naming
every missing setting, before it creates anything; ``--dev`` is the explicit way round."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.ops.app.preflight import missing_settings
from services.ops.app.settings import Settings
from tests.support.factories import TEST_CHAIN_KEYS

SECRETS = (
    "AMTSWEG_PORTAL_TOKENS",
    "AMTSWEG_KEK_FILE",
    "AMTSWEG_LEDGER_CHAIN_KEYS",
    "AMTSWEG_LEDGER_CHAIN_KEY",
    "AMTSWEG_DELIVERY_SIGNING_KEYS_FILE",
    "AMTSWEG_FITCONNECT_TOKEN_KEYS_FILE",
    "AMTSWEG_FITCONNECT_SET_KEYS_FILE",
    "AMTSWEG_FITCONNECT_CA_CERT_FILE",
    "AMTSWEG_FITCONNECT_CA_KEY_FILE",
    "AMTSWEG_DEVELOPMENT",
    "AMTSWEG_CHECKPOINT_DIR",
    "AMTSWEG_CHECKPOINT_SIGNING_KEY_FILE",
    "AMTSWEG_CHECKPOINT_PUBLIC_KEYS_FILE",
)

CHECKPOINT_SECRETS = ("AMTSWEG_CHECKPOINT_DIR", "AMTSWEG_CHECKPOINT_SIGNING_KEY_FILE")
"""What only the checkpoint writer (in ``run``, not in ``service intake``) needs."""


def _amtsweg(tmp_path: Path, *arguments: str, **extra: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key not in SECRETS}
    environment |= {"AMTSWEG_DATA_DIR": str(tmp_path / "var"), **extra}
    return subprocess.run(
        [sys.executable, "-m", "services.ops.cli", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("arguments", [("run",), ("service", "intake")])
def test_without_its_secrets_a_process_names_all_of_them_and_creates_nothing(
    tmp_path: Path, arguments: tuple[str, ...]
) -> None:
    done = _amtsweg(tmp_path, *arguments)

    assert done.returncode == 2, done.stderr
    for variable in (
        "AMTSWEG_PORTAL_TOKENS",
        "AMTSWEG_KEK_FILE",
        "AMTSWEG_LEDGER_CHAIN_KEYS",
        "AMTSWEG_DELIVERY_SIGNING_KEYS_FILE",
        *(
            ("AMTSWEG_CHECKPOINT_DIR", "AMTSWEG_CHECKPOINT_SIGNING_KEY_FILE")
            if arguments == ("run",)
            else ()
        ),
        "AMTSWEG_FITCONNECT_TOKEN_KEYS_FILE",
        "AMTSWEG_FITCONNECT_SET_KEYS_FILE",
        "AMTSWEG_FITCONNECT_CA_CERT_FILE",
    ):
        assert variable in done.stderr
    assert "amtsweg run --dev" in done.stderr
    assert "amtsweg keys create-signing-key" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "var").exists()  # no ledger, no keys, no token, no broker


def test_a_service_is_asked_only_for_what_it_needs(tmp_path: Path) -> None:
    done = _amtsweg(tmp_path, "service", "metrics")

    assert done.returncode == 2, done.stderr
    assert "AMTSWEG_KEK_FILE" in done.stderr
    for unneeded in (
        "AMTSWEG_PORTAL_TOKENS",
        "AMTSWEG_LEDGER_CHAIN_KEYS",
        "AMTSWEG_DELIVERY_SIGNING_KEYS_FILE",
        "AMTSWEG_FITCONNECT_TOKEN_KEYS_FILE",
    ):
        assert unneeded not in done.stderr


def test_a_short_chain_key_is_refused(tmp_path: Path) -> None:
    done = _amtsweg(
        tmp_path,
        "service",
        "validation",
        AMTSWEG_KEK_FILE=os.environ["AMTSWEG_KEK_FILE"],
        AMTSWEG_LEDGER_CHAIN_KEYS=json.dumps({"k1": "tiny-secret"}),
    )

    assert done.returncode == 2, done.stderr
    assert "at least 32 bytes" in done.stderr
    assert "tiny-secret" not in done.stderr  # the key itself is never shown


def _settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **environment: str) -> Settings:
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return Settings.from_environment()


def test_development_mode_needs_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = _settings(monkeypatch, tmp_path, AMTSWEG_DEVELOPMENT="true")
    assert missing_settings(settings, {"intake", "relay", "validation"}) == []


def test_a_configured_process_misses_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = _settings(
        monkeypatch,
        tmp_path,
        AMTSWEG_PORTAL_TOKENS=json.dumps({"portal-a": "0" * 64}),
        AMTSWEG_KEK_FILE=str(tmp_path / "kek.json"),
        AMTSWEG_LEDGER_CHAIN_KEYS=json.dumps(TEST_CHAIN_KEYS),
        AMTSWEG_DELIVERY_SIGNING_KEYS_FILE=str(tmp_path / "signing.json"),
        AMTSWEG_CHECKPOINT_DIR=str(tmp_path / "checkpoints"),
        AMTSWEG_CHECKPOINT_SIGNING_KEY_FILE=str(tmp_path / "checkpoint.jwk.json"),
        AMTSWEG_FITCONNECT_TOKEN_KEYS_FILE=str(tmp_path / "token.json"),
        AMTSWEG_FITCONNECT_SET_KEYS_FILE=str(tmp_path / "set.json"),
        AMTSWEG_FITCONNECT_CA_CERT_FILE=str(tmp_path / "ca.pem"),
        AMTSWEG_FITCONNECT_CA_KEY_FILE=str(tmp_path / "ca.key.pem"),
    )
    services = {"intake", "relay", "validation", "metrics", "checkpoint"}
    assert missing_settings(settings, services) == []
    assert settings.ledger.ledger_chain_keys["test-1"] == SecretStr(TEST_CHAIN_KEYS["test-1"])
