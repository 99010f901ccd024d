"""``GET /fit-connect/v1/destinations/{id}`` and ``…/keys/{keyId}`` as the Submission API
1.1.3 specifies them (answers validated against its schemas), through the HTTP app."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from events.ledger import Ledger
from events.vault import LocalKeyFile, Vault
from services.fitconnect.certificates import InstanceCA, x5c_of
from services.fitconnect.destination_directory import (
    DestinationService,
    SubmissionSchema,
    directory_of,
)
from services.fitconnect.destination_keys import DestinationKeys
from services.fitconnect.destinations import ROUTING_DESTINATION, destination_id
from services.fitconnect.http import mount_fit_connect
from services.fitconnect.key_table import KeyTable
from services.intake.http import create_app
from services.ops.app.bootstrap import Core
from tests.support.authority import HANNOVER, KOELN
from tests.support.delivery import TOKENS as AUTHORITY_TOKENS
from tests.support.fitconnect import (
    FakeTokens,
    access_token,
    assert_fit_connect_problem,
    client_of,
    ports,
)
from tests.support.fitconnect_spec import assert_answers_as_specified
from tests.support.pipeline import PORTAL_TOKENS, intake_settings, wiring

DESTINATION = "/v1/destinations/{destinationId}"
KEY = "/v1/destinations/{destinationId}/keys/{keyId}"
XDOMEA = SubmissionSchema("urn:xoev-de:xdomea:schema:xdomea_3.0.0", "application/xml")
JSON_FORM = SubmissionSchema(
    "https://schema.fitko.de/fim/s00000122_1.0.0.schema.json", "application/json"
)
SERVICES = {
    KOELN: (DestinationService("99900000000101", ("05315",), (XDOMEA,)),),
    HANNOVER: (DestinationService("99900000000102", ("03241", "032410001"), (JSON_FORM,)),),
    "amt-ohne-leistung": (),
}
EVERY = (
    DestinationService("99900000000101", (), (XDOMEA,)),
    DestinationService("99900000000102", (), (JSON_FORM,)),
)


def url(path: str, destination: object, key: str = "") -> str:
    return "/fit-connect" + path.format(destinationId=destination, keyId=key)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> DestinationKeys:
    """One key table for the module (RSA-4096 keys take a second each to make)."""
    folder = tmp_path_factory.mktemp("destination-keys")
    ca = InstanceCA.generate()

    def material(destination: uuid.UUID) -> tuple[rsa.RSAPrivateKey, list[x509.Certificate]]:
        private = rsa.generate_private_key(65537, 4096)
        return private, ca.certify(private.public_key(), destination, days=30)

    kek = LocalKeyFile.create(folder / "kek.json")
    return DestinationKeys(KeyTable.sqlite(folder / "keys.sqlite3"), kek, material, x5c_of)


def _app(ledger: Ledger, vault: Vault, keys: DestinationKeys) -> FastAPI:
    app = create_app(ledger, vault, intake_settings(port=0))
    fit_ports = ports(FakeTokens(), destinations=directory_of(SERVICES, EVERY), keys=lambda: keys)
    mount_fit_connect(app, fit_ports)
    return app


@pytest.fixture
async def http(
    ledger: Ledger, vault: Vault, keys: DestinationKeys
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(_app(ledger, vault, keys)) as client:
        yield client


async def _sender(http: httpx.AsyncClient, **form: str) -> dict[str, str]:
    token = await access_token(http, "portal-a", PORTAL_TOKENS["portal-a"], **form)
    return {"Authorization": f"Bearer {token}"}


async def test_a_sender_reads_an_authoritys_destination_and_its_encryption_key(
    http: httpx.AsyncClient,
) -> None:
    headers = await _sender(http)
    koeln = destination_id(KOELN)

    answer = await http.get(url(DESTINATION, koeln), headers=headers)

    destination = assert_answers_as_specified(answer, DESTINATION)
    assert answer.status_code == 200
    assert destination["destinationId"] == str(koeln)
    assert destination["status"] == "active"
    assert destination["services"] == [
        {
            "identifier": "urn:de:fim:leika:leistung:99900000000101",
            "regions": ["DE05315"],
            "submissionSchemas": [{"schemaUri": XDOMEA.schema_uri, "mimeType": "application/xml"}],
        }
    ]
    assert set(destination["metadataVersions"]) == {"1.0.0", "2.1.0"}

    kid = destination["encryptionKid"]
    key = await http.get(url(KEY, koeln, kid))  # public: no token needed
    jwk = assert_answers_as_specified(key, KEY)
    assert key.status_code == 200
    assert jwk["kid"] == kid
    assert jwk["key_ops"] == ["wrapKey"]
    assert jwk["alg"] == "RSA-OAEP-256"
    assert "d" not in jwk
    leaf = x509.load_der_x509_certificate(base64.b64decode(jwk["x5c"][0]))
    public = leaf.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == 4096

    again = await http.get(url(DESTINATION, koeln), headers=headers)
    assert again.json()["encryptionKid"] == kid


async def test_the_routing_destination_accepts_every_service_everywhere(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.get(url(DESTINATION, ROUTING_DESTINATION), headers=await _sender(http))

    destination = assert_answers_as_specified(answer, DESTINATION)
    assert [s["identifier"].rsplit(":", 1)[1] for s in destination["services"]] == [
        "99900000000101",
        "99900000000102",
    ]
    assert {region for s in destination["services"] for region in s["regions"]} == {"DE"}


async def test_a_subscriber_reads_only_its_own_destination(http: httpx.AsyncClient) -> None:
    token = await access_token(http, KOELN, AUTHORITY_TOKENS[KOELN])
    headers = {"Authorization": f"Bearer {token}"}

    own = await http.get(url(DESTINATION, destination_id(KOELN)), headers=headers)
    other = await http.get(url(DESTINATION, destination_id(HANNOVER)), headers=headers)

    assert own.status_code == 200
    assert_answers_as_specified(other, DESTINATION)
    assert_fit_connect_problem(other, 403, "forbidden")


async def test_a_sender_limited_to_a_region_reads_only_destinations_serving_it(
    http: httpx.AsyncClient,
) -> None:
    headers = await _sender(http, scope="send:region:DE0531")

    inside = await http.get(url(DESTINATION, destination_id(KOELN)), headers=headers)
    outside = await http.get(url(DESTINATION, destination_id(HANNOVER)), headers=headers)

    assert inside.status_code == 200
    assert_fit_connect_problem(outside, 403, "forbidden")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}])
async def test_without_an_access_token_a_destination_is_401(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    answer = await http.get(url(DESTINATION, destination_id(KOELN)), headers=headers)
    assert_answers_as_specified(answer, DESTINATION)
    assert_fit_connect_problem(answer, 401, "unauthorized")


@pytest.mark.parametrize(
    "destination",
    [uuid.UUID(int=7), destination_id("amt-ohne-leistung"), "not-a-uuid", "x" * 40],
)
async def test_an_unknown_destination_is_404(http: httpx.AsyncClient, destination: object) -> None:
    headers = await _sender(http)
    answer = await http.get(url(DESTINATION, destination), headers=headers)
    key = await http.get(url(KEY, destination, "c66e4423-e28d-4a1f-911d-818f9ab60221"))

    assert_answers_as_specified(answer, DESTINATION)
    assert_fit_connect_problem(answer, 404, "destination-not-found")
    assert_answers_as_specified(key, KEY)
    assert_fit_connect_problem(key, 404, "destination-not-found")


@pytest.mark.parametrize("key_id", ["c66e4423-e28d-4a1f-911d-818f9ab60221", "short", "k" * 37])
async def test_an_unknown_key_is_404(http: httpx.AsyncClient, key_id: str) -> None:
    answer = await http.get(url(KEY, destination_id(KOELN), key_id))
    assert_answers_as_specified(answer, KEY)
    assert_fit_connect_problem(answer, 404, "key-not-found")


async def test_after_a_rotation_the_new_key_is_published_and_the_old_one_stays_fetchable(
    http: httpx.AsyncClient, keys: DestinationKeys
) -> None:
    headers = await _sender(http)
    hannover = destination_id(HANNOVER)
    old = (await http.get(url(DESTINATION, hannover), headers=headers)).json()["encryptionKid"]

    keys.rotate(hannover)

    new = (await http.get(url(DESTINATION, hannover), headers=headers)).json()["encryptionKid"]
    assert new != old
    for kid in (old, new):
        answer = await http.get(url(KEY, hannover, kid))
        assert answer.status_code == 200
        assert answer.json()["kid"] == kid
    assert keys.private_key(hannover, old) is not None


async def test_the_composed_app_serves_the_directorys_authorities_as_destinations(
    ledger: Ledger, vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    app = wiring(intake_settings(port=0), Core(ledger, vault)).http_app()
    koeln = destination_id("jobcenter-koeln")
    async with client_of(app) as http:
        headers = await _sender(http)
        answer = await http.get(url(DESTINATION, koeln), headers=headers)
        destination = assert_answers_as_specified(answer, DESTINATION)
        assert answer.status_code == 200
        key = await http.get(url(KEY, koeln, destination["encryptionKid"]))
        assert_answers_as_specified(key, KEY)
        assert key.status_code == 200
    assert destination["services"][0]["identifier"] == "urn:de:fim:leika:leistung:99900000000101"
    assert destination["services"][0]["regions"] == ["DE05315"]
