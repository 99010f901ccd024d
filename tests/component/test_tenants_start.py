"""With a tenants file, operators without a scope keep the ops API's process from starting
(outside development mode); an unusable tenants file or scope stops every process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.ops.app.bootstrap import Wiring
from services.ops.app.preflight import missing_settings
from services.ops.app.settings import Settings
from services.ops.tenants.tenants_file import TenantConfigError

TENANTS = {"tenants": [{"id": "st", "name": "Sachsen-Anhalt", "states": ["15"]}]}


def _settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **environment: str) -> Settings:
    for name in ("AMTSWEG_DEVELOPMENT", "AMTSWEG_TENANTS_FILE", "AMTSWEG_OPERATOR_SCOPES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    tenants = tmp_path / "tenants.json"
    tenants.write_text(json.dumps(TENANTS))
    monkeypatch.setenv("AMTSWEG_TENANTS_FILE", str(tenants))
    tokens = {"erika": "0" * 64, "max": "1" * 64}
    monkeypatch.setenv("AMTSWEG_OPERATOR_TOKENS", json.dumps(tokens))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return Settings.from_environment()


def _scope_refusals(settings: Settings, services: set[str]) -> list[str]:
    return [m.variable for m in missing_settings(settings, services) if "SCOPES" in m.variable]


def test_operators_without_a_scope_are_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    scopes = json.dumps({"erika": ["st"]})
    settings = _settings(monkeypatch, tmp_path, AMTSWEG_OPERATOR_SCOPES=scopes)
    assert _scope_refusals(settings, {"intake"}) == ["AMTSWEG_OPERATOR_SCOPES (max)"]
    assert _scope_refusals(settings, {"validation"}) == []  # no ops API there
    every = json.dumps({"erika": ["st"], "max": ["*"]})
    assert (
        _scope_refusals(_settings(monkeypatch, tmp_path, AMTSWEG_OPERATOR_SCOPES=every), {"intake"})
        == []
    )
    development = _settings(monkeypatch, tmp_path, AMTSWEG_DEVELOPMENT="true")
    assert _scope_refusals(development, {"intake"}) == []


def test_a_scope_naming_an_unknown_tenant_refuses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    scopes = json.dumps({"erika": ["by"], "max": ["*"]})
    wiring = Wiring(_settings(monkeypatch, tmp_path, AMTSWEG_OPERATOR_SCOPES=scopes))
    with pytest.raises(TenantConfigError, match="AMTSWEG_OPERATOR_SCOPES"):
        wiring.tenants()


def test_a_broken_tenants_file_refuses(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = _settings(monkeypatch, tmp_path)
    assert settings.operator.tenants_file is not None
    settings.operator.tenants_file.write_text('{"tenants": [{"id": "st"}]}')
    with pytest.raises(TenantConfigError, match=r"AMTSWEG_TENANTS_FILE .*tenants\.0\.name"):
        Wiring(settings).tenants()
