"""The portal directory: reply channels per portal, refused when it does not fit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.runtime.portals import PortalConfigError, PortalSettings

PUBLIC_RSA = {"kty": "RSA", "alg": "RSA-OAEP-256", "n": "sXch", "e": "AQAB", "kid": "p-1"}


def _settings(tmp_path: Path, portals: list[dict[str, object]], **secrets: str) -> PortalSettings:
    path = tmp_path / "portals.json"
    path.write_text(json.dumps({"portals": portals}))
    return PortalSettings(file=path, callback_secrets={k: SecretStr(v) for k, v in secrets.items()})


def test_an_unconfigured_portal_takes_replies_on_its_topic_unencrypted() -> None:
    portal = PortalSettings().portals().get("sozialplattform")
    assert portal.topic == "amtsweg.portal.sozialplattform"
    assert portal.callback_url is None
    assert portal.encryption_jwk is None


def test_a_portal_id_that_names_no_topic_gets_none() -> None:
    assert PortalSettings().portals().get("portal with spaces").topic is None


def test_a_configured_portal_has_its_callback_secret_and_key(tmp_path: Path) -> None:
    entry = {
        "portalId": "sp",
        "callbackUrl": "https://portal.example/cb",
        "encryptionKey": PUBLIC_RSA,
        "topic": False,
    }
    portals = _settings(tmp_path, [entry], sp="s3cret").portals()
    portal = portals.get("sp")
    assert portal.topic is None
    assert (portal.callback_url, portal.callback_secret) == ("https://portal.example/cb", "s3cret")
    assert portal.encryption_jwk == PUBLIC_RSA
    assert portals.with_callbacks() == [portal]


def test_a_callback_without_a_secret_refuses_with_what_to_set(tmp_path: Path) -> None:
    settings = _settings(tmp_path, [{"portalId": "sp", "callbackUrl": "https://p.example/cb"}])
    with pytest.raises(PortalConfigError, match="AMTSWEG_PORTALS_CALLBACK_SECRETS"):
        settings.portals()


@pytest.mark.parametrize(
    "key",
    [
        {**PUBLIC_RSA, "d": "private"},
        {**PUBLIC_RSA, "alg": "RSA1_5"},
        {"kty": "EC", "crv": "P-256", "x": "a", "y": "b"},
    ],
    ids=["private", "wrong-alg", "not-rsa"],
)
def test_only_a_public_rsa_oaep_key_is_taken(tmp_path: Path, key: dict[str, object]) -> None:
    settings = _settings(tmp_path, [{"portalId": "sp", "encryptionKey": key}])
    with pytest.raises(PortalConfigError, match="public RSA-OAEP-256"):
        settings.portals()


def test_an_unknown_member_refuses(tmp_path: Path) -> None:
    with pytest.raises(PortalConfigError, match="AMTSWEG_PORTALS_FILE"):
        _settings(tmp_path, [{"portalId": "sp", "callbackURL": "typo"}]).portals()
