"""Keys and directory files for tests of delivery to authorities (keys made once per run)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import ECKey, RSAKey

from services.delivery.signing import EnvelopeSigner, new_signing_key
from services.routing.settings import RoutingSettings

KOELN = "jobcenter-koeln"
HANNOVER = "jobcenter-region-hannover"


@cache
def _rsa(kid: str, use: str) -> dict[str, Any]:
    key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": use})
    return key.as_dict(private=True)


def encryption_key(kid: str = "koeln-enc-1") -> dict[str, Any]:
    """A private RSA JWK for decrypting (the authority's secret)."""
    return _rsa(kid, "enc")


def signing_key(kid: str = "koeln-sig-1") -> dict[str, Any]:
    """A private RSA JWK for signing receipts."""
    return _rsa(kid, "sig")


@cache
def ec_signing_key(kid: str = "koeln-sig-ec") -> dict[str, Any]:
    return ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig"}).as_dict(private=True)


@cache
def amtsweg_signing_keys() -> dict[str, Any]:
    """Amtsweg's envelope signing key set for tests (one private P-256 key)."""
    return {"keys": [new_signing_key()]}


def amtsweg_signer() -> EnvelopeSigner:
    """Signs envelopes with :func:`amtsweg_signing_keys`."""
    return EnvelopeSigner(amtsweg_signing_keys())


def public(jwk: dict[str, Any]) -> dict[str, Any]:
    """The public half of a JWK."""
    private = {"d", "p", "q", "dp", "dq", "qi"}
    return {k: v for k, v in jwk.items() if k not in private}


def write_jwk(path: Path, jwk: dict[str, Any]) -> Path:
    path.write_text(json.dumps(jwk))
    return path


def directory_file(
    folder: Path, changes: dict[str, dict[str, Any]], rename: dict[str, str] | None = None
) -> Path:
    """The bundled directory with ``changes`` merged into authorities (``keys``, ``channel``).

    ``rename`` gives authorities fresh ids (and so fresh topics), so that a test on the
    shared broker reads only its own deliveries; ``changes`` uses the new ids.
    """
    document = json.loads(RoutingSettings().directory.read_text(encoding="utf-8"))
    for old, new in (rename or {}).items():
        for authority in document["authorities"]:
            if authority["id"] == old:
                authority["id"] = new
                authority["channel"]["topic"] = f"amtsweg.delivery.{new}"
        for competence in document["competences"]:
            if competence["authority"] == old:
                competence["authority"] = new
    for authority in document["authorities"]:
        for key, value in changes.get(authority["id"], {}).items():
            if isinstance(value, dict) and isinstance(authority.get(key), dict):
                authority[key] = {**authority[key], **value}
            else:
                authority[key] = value
    path = folder / "directory.json"
    path.write_text(json.dumps(document))
    return path


def keyed_directory(folder: Path) -> Path:
    """The bundled directory with every authority's public keys registered (the test keys):
    deliveries are never plaintext and receipts count only signed, so every authority a
    test routes to needs both."""
    document = json.loads(RoutingSettings().directory.read_text(encoding="utf-8"))
    keys = {"encryption": public(encryption_key()), "verification": public(signing_key())}
    for authority in document["authorities"]:
        authority.setdefault("keys", {}).update(keys)
    path = folder / "directory-with-keys.json"
    path.write_text(json.dumps(document))
    return path


@pytest.fixture(scope="session")
def directory_with_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled directory, every authority with the test encryption key."""
    return keyed_directory(tmp_path_factory.mktemp("directory"))


@pytest.fixture
def authorities_have_keys(directory_with_keys: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every authority can be delivered to (a test may point at another directory)."""
    monkeypatch.setenv("AMTSWEG_ROUTING_DIRECTORY", str(directory_with_keys))
