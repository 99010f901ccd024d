"""Route documents: the destination's claims, its contact data in the spec's shapes, pages."""

from __future__ import annotations

import json
import uuid

import pytest

from services.fitconnect.destinations import destination_id
from services.fitconnect.routing_api.documents import (
    Instance,
    address_of,
    area_result,
    destination_claims,
    route_result,
)
from services.fitconnect.routing_api.ports import AreaMatch, Contact, Office
from services.fitconnect.routing_api.query import Page

INSTANCE = Instance("https://amtsweg.example.de:8443/fit-connect")


def _office(authority_id: str = "jobcenter-koeln", contact: Contact | None = None) -> Office:
    return Office(
        authority_id=authority_id,
        name="Jobcenter Köln",
        area="05315",
        services=("99900000000101",),
        contact=contact or Contact(),
        directory_version="v1",
    )


def _payload_signer(payload: bytes) -> str:
    """A stand-in signature that shows what was signed."""
    return "h." + payload.hex() + ".s"


def test_claims_name_destination_host_area_and_service() -> None:
    claims = destination_claims(_office(), INSTANCE, issued_at=1700000000, token_id="t")
    assert claims == {
        "submissionHost": "amtsweg.example.de",
        "iss": "https://amtsweg.example.de:8443/fit-connect",
        "services": [
            {
                "gebietIDs": ["urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:rs:05315"],
                "leistungIDs": ["urn:de:fim:leika:leistung:99900000000101"],
            }
        ],
        "destinationId": str(destination_id("jobcenter-koeln")),
        "iat": 1700000000,
        "jti": "t",
    }


def test_a_route_signs_its_claims_and_omits_absent_contact_data() -> None:
    result = route_result([_office()], Page(), INSTANCE, _payload_signer, issued_at=1)
    (route,) = result["routes"]
    signed = json.loads(bytes.fromhex(route["destinationSignature"].split(".")[1]))
    assert signed["destinationId"] == route["destinationId"]
    uuid.UUID(signed["jti"])
    assert "contactPersons" not in route  # the spec wants at least one, or none at all
    assert "address" not in route
    assert route["customParameters"]["authorityId"] == "jobcenter-koeln"


def test_each_route_has_its_own_token_id() -> None:
    result = route_result([_office(), _office()], Page(), INSTANCE, _payload_signer, issued_at=1)
    signed = [r["destinationSignature"].split(".")[1] for r in result["routes"]]
    ids = {json.loads(bytes.fromhex(payload))["jti"] for payload in signed}
    assert len(ids) == 2


def test_only_the_page_is_answered() -> None:
    offices = [_office(f"authority-{n}") for n in range(5)]
    result = route_result(offices, Page(offset=3, limit=10), INSTANCE, _payload_signer, issued_at=1)
    assert (result["count"], result["offset"], result["totalCount"]) == (2, 3, 5)
    areas = [AreaMatch(str(n), f"Ort {n}", "Gemeinde") for n in range(3)]
    assert area_result(areas, Page(offset=1, limit=1)) == {
        "count": 1,
        "offset": 1,
        "totalCount": 3,
        "areas": [{"id": "1", "name": "Ort 1", "type": "Gemeinde"}],
    }


def test_a_one_line_address_in_the_spec_shape() -> None:
    assert address_of("Luxemburger Straße 121, 50939 Köln") == {
        "street": "Luxemburger Straße",
        "houseNumber": "121",
        "zip": "50939",
        "city": "Köln",
    }


@pytest.mark.parametrize(
    "line",
    ["Am Alten Stadtschloss 13 A, 11011 Berlin", "Rathaus, Marktplatz", "Postfach 8 15", "Köln"],
)
def test_another_address_is_kept_whole(line: str) -> None:
    assert address_of(line) == {"additional": line}
