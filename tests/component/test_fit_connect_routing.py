"""FIT-Connect's Routing API through the HTTP app: answers as ``routing-api.yaml`` says.

The whole app as ``amtsweg run`` assembles it (composition root), with the national
directory, one of whose authorities is given contact data. Every answer is checked
against the spec: documented status, media type and schema.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import RSAKey

from events.ledger import Ledger
from events.vault import Vault
from services.fitconnect.destinations import destination_id
from services.ops.app.bootstrap import Core
from services.routing.settings import RoutingSettings
from tests.support.fit_connect_routing import check_answer
from tests.support.pipeline import intake_settings, wiring

BASE = "/fit-connect/routing/v1"
PUBLIC_URL = "https://amtsweg.example.de/fit-connect"
BUERGERGELD = "99900000000101"
WBS = "99900000000104"
KOELN = "053150000000"
CONTACT = {
    "email": "jobcenter.koeln@example.org",
    "phone": "+49 221 9429-0",
    "website": "https://jobcenter-koeln.example.org",
    "address": "Luxemburger Straße 121, 50939 Köln",
}


@pytest.fixture
async def http(
    ledger: Ledger, vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP app; jobcenter-koeln has contact data."""
    document = json.loads(RoutingSettings().directory.read_text(encoding="utf-8"))
    for authority in document["authorities"]:
        if authority["id"] == "jobcenter-koeln":
            authority["contact"] = CONTACT
    directory = tmp_path / "directory.json"
    directory.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AMTSWEG_ROUTING_DIRECTORY", str(directory))
    monkeypatch.setenv("AMTSWEG_FITCONNECT_PUBLIC_URL", PUBLIC_URL + "/")
    app = wiring(intake_settings(port=0), Core(ledger, vault)).http_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def _get(http: httpx.AsyncClient, path: str, params: Any) -> httpx.Response:
    """GET and check the answer against the spec."""
    response = await http.get(BASE + path, params=params)
    check_answer(path, response.status_code, response.headers["content-type"], response.json())
    return response


async def _problem(http: httpx.AsyncClient, path: str, params: Any, slug: str) -> str:
    response = await _get(http, path, params)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["type"] == f"https://amtsweg.de/problems/{slug}"
    assert problem["status"] == 400
    return str(problem["detail"])


async def test_info(http: httpx.AsyncClient) -> None:
    response = await _get(http, "/info", None)
    assert response.status_code == 200
    assert response.json() == {"version": {"major": 2, "minor": 0, "patch": 0}}


async def test_a_route_with_contact_data(http: httpx.AsyncClient) -> None:
    response = await _get(http, "/routes", {"leikaKey": BUERGERGELD, "ars": KOELN})
    assert response.status_code == 200
    result = response.json()
    assert (result["count"], result["offset"], result["totalCount"]) == (1, 0, 1)
    (route,) = result["routes"]
    assert route["destinationId"] == str(destination_id("jobcenter-koeln"))
    assert route["destinationName"] == "Jobcenter Köln"
    assert route["contactPersons"] == [{"tel": CONTACT["phone"], "email": CONTACT["email"]}]
    assert route["address"] == {
        "street": "Luxemburger Straße",
        "houseNumber": "121",
        "zip": "50939",
        "city": "Köln",
    }
    assert route["customParameters"]["submissionUrl"] == PUBLIC_URL
    assert route["customParameters"]["website"] == CONTACT["website"]
    assert route["customParameters"]["competentArea"] == "05315"
    assert route["origin"] == "Amtsweg"


async def test_the_destination_signature_verifies_with_the_published_key(
    http: httpx.AsyncClient,
) -> None:
    response = await _get(http, "/routes", {"leikaKey": BUERGERGELD, "ags": "05315000"})
    (route,) = response.json()["routes"]
    keys = (await http.get("/fit-connect/.well-known/jwks.json")).json()["keys"]
    token = route["destinationSignature"]
    protected = jws.extract_compact(token.encode()).protected
    assert protected["alg"] == "PS512"  # as FITKO signs destinations
    key = RSAKey.import_key(next(k for k in keys if k["kid"] == protected["kid"]))
    claims = json.loads(jws.deserialize_compact(token, key, algorithms=["PS512"]).payload)
    assert claims["destinationId"] == route["destinationId"]
    assert claims["submissionHost"] == "amtsweg.example.de"
    assert claims["iss"] == PUBLIC_URL
    assert claims["services"] == [
        {
            "gebietIDs": ["urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:rs:05315"],
            "leistungIDs": [f"urn:de:fim:leika:leistung:{BUERGERGELD}"],
        }
    ]
    tampered = token.split(".")
    tampered[1] = tampered[1][:-2] + ("AA" if tampered[1][-2:] != "AA" else "BB")
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(".".join(tampered), key, algorithms=["PS512"])


async def test_a_route_by_area_id_from_the_area_search(http: httpx.AsyncClient) -> None:
    areas = (await _get(http, "/areas", {"areaSearchexpression": "Köln"})).json()["areas"]
    assert areas == [{"id": KOELN, "name": "Köln, Stadt", "type": "Kreisfreie Stadt"}]
    response = await _get(http, "/routes", {"leikaKey": BUERGERGELD, "areaId": areas[0]["id"]})
    (route,) = response.json()["routes"]
    assert route["destinationId"] == str(destination_id("jobcenter-koeln"))


async def test_no_competent_authority_is_an_empty_list(http: httpx.AsyncClient) -> None:
    response = await _get(http, "/routes", {"leikaKey": WBS, "ars": "05315"})
    assert response.status_code == 200
    assert response.json() == {"count": 0, "offset": 0, "totalCount": 0, "routes": []}


async def test_routes_are_paged(http: httpx.AsyncClient) -> None:
    params = {"leikaKey": BUERGERGELD, "ars": KOELN, "offset": "1", "limit": "5"}
    result = (await _get(http, "/routes", params)).json()
    assert (result["count"], result["offset"], result["totalCount"]) == (0, 1, 1)
    assert result["routes"] == []


@pytest.mark.parametrize(
    ("params", "slug"),
    [
        ({"leikaKey": BUERGERGELD}, "routing-region-parameter"),
        ({"leikaKey": BUERGERGELD, "ars": KOELN, "ags": "05315000"}, "routing-region-parameter"),
        ([("leikaKey", BUERGERGELD), ("ars", KOELN), ("ars", KOELN)], "routing-region-parameter"),
        ({"ars": KOELN}, "routing-invalid-parameter"),
        (
            [("leikaKey", BUERGERGELD), ("leikaKey", WBS), ("ars", KOELN)],
            "routing-invalid-parameter",
        ),
        ({"leikaKey": "12345678901234", "ars": KOELN}, "routing-invalid-parameter"),
        ({"leikaKey": BUERGERGELD, "ars": "0531"}, "routing-invalid-parameter"),
        ({"leikaKey": BUERGERGELD, "ags": KOELN}, "routing-invalid-parameter"),
        ({"leikaKey": BUERGERGELD, "areaId": "x1"}, "routing-invalid-parameter"),
        ({"leikaKey": BUERGERGELD, "ars": KOELN, "limit": "0"}, "routing-invalid-parameter"),
        ({"leikaKey": BUERGERGELD, "ars": KOELN, "limit": "501"}, "routing-invalid-parameter"),
        ({"leikaKey": BUERGERGELD, "ars": KOELN, "offset": "-1"}, "routing-invalid-parameter"),
        ({"leikaKey": "99000000000000", "ars": KOELN}, "routing-unknown-service"),
        ({"leikaKey": BUERGERGELD, "ars": "053159999999"}, "routing-unknown-region"),
        ({"leikaKey": BUERGERGELD, "ags": "05315999"}, "routing-unknown-region"),
        ({"leikaKey": BUERGERGELD, "areaId": "4711"}, "routing-unknown-region"),
    ],
)
async def test_bad_route_queries(http: httpx.AsyncClient, params: Any, slug: str) -> None:
    await _problem(http, "/routes", params, slug)


async def test_areas_by_prefix_and_postal_code(http: httpx.AsyncClient) -> None:
    response = await _get(http, "/areas", {"areaSearchexpression": "Mag*", "limit": "2"})
    result = response.json()
    assert result["count"] == 2
    assert result["totalCount"] > 2
    assert all(area["name"].startswith("Mag") for area in result["areas"])
    by_code = (await _get(http, "/areas", {"areaSearchexpression": "50667"})).json()
    assert [area["id"] for area in by_code["areas"]] == [KOELN]
    both = [("areaSearchexpression", "Frankfurt"), ("areaSearchexpression", "Oder")]
    (frankfurt_oder,) = (await _get(http, "/areas", both)).json()["areas"]
    assert frankfurt_oder["name"] == "Frankfurt (Oder), Stadt"


async def test_nothing_found_is_an_empty_list(http: httpx.AsyncClient) -> None:
    result = (await _get(http, "/areas", {"areaSearchexpression": "Atlantis"})).json()
    assert result == {"count": 0, "offset": 0, "totalCount": 0, "areas": []}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"areaSearchexpression": ""},
        {"areaSearchexpression": "K"},
        {"areaSearchexpression": "K*"},
        {"areaSearchexpression": "**"},
        {"areaSearchexpression": "a*b"},
        {"areaSearchexpression": "x" * 101},
        [("areaSearchexpression", f"Ort{n}") for n in range(11)],
    ],
)
async def test_bad_area_searches(http: httpx.AsyncClient, params: Any) -> None:
    await _problem(http, "/areas", params, "routing-search-expression")
