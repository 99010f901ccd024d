"""The Routing API's answers: routes with signed destination claims, areas, pages, info.

A route is one FIT-Connect destination (:func:`services.fitconnect.destinations.destination_id`
of the competent authority) with the authority's name and contact data and a
``destinationSignature``: a JWS (RFC 7515, compact) by Amtsweg over the claims FITKO's
destination signatures carry (``submissionHost``, ``iss``, ``services`` with the area's
ARS and the LeiKa keys, ``destinationId``, ``iat``, ``jti``), so a sender can check that
the destination, the service, the area and the host to submit to come from Amtsweg.
Amtsweg's additions travel in ``customParameters`` (the spec's place for parameters it
does not standardise): the submission URL, the authority id, the area and directory version.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from services.fitconnect.destinations import destination_id
from services.fitconnect.routing_api.ports import AreaMatch, Office, SignJws
from services.fitconnect.routing_api.query import Page

API_VERSION: Final = {"major": 2, "minor": 0, "patch": 0}
"""The version of the Routing API spec answered (``info.version`` 2.0.0)."""
ORIGIN: Final = "Amtsweg"
AREA_URN: Final = "urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:rs:"
SERVICE_URN: Final = "urn:de:fim:leika:leistung:"
_ZIP_LENGTH: Final = 5


@dataclass(frozen=True)
class Instance:
    """This Amtsweg instance as routes name it: its FIT-Connect Submission API URL."""

    submission_url: str
    """E.g. ``https://amtsweg.example.de/fit-connect``; the signature names its host."""

    @property
    def submission_host(self) -> str:
        """The host senders submit to (the ``submissionHost`` claim)."""
        return urlsplit(self.submission_url).hostname or ""


def destination_claims(
    office: Office, instance: Instance, *, issued_at: int, token_id: str
) -> dict[str, Any]:
    """The claims Amtsweg signs for one route (FITKO's destination signature claims)."""
    return {
        "submissionHost": instance.submission_host,
        "iss": instance.submission_url,
        "services": [
            {
                "gebietIDs": [AREA_URN + office.area],
                "leistungIDs": [SERVICE_URN + key for key in office.services],
            }
        ],
        "destinationId": str(destination_id(office.authority_id)),
        "iat": issued_at,
        "jti": token_id,
    }


def route_document(
    office: Office, instance: Instance, sign: SignJws, *, issued_at: int
) -> dict[str, Any]:
    """One route of ``GET /routes`` (the spec's ``route`` schema)."""
    claims = destination_claims(office, instance, issued_at=issued_at, token_id=str(uuid.uuid4()))
    payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
    document: dict[str, Any] = {
        "destinationId": claims["destinationId"],
        "destinationSignature": sign(payload),
        "destinationName": office.name,
    }
    contact = office.contact
    person = {k: v for k, v in (("tel", contact.phone), ("email", contact.email)) if v}
    if person:
        document["contactPersons"] = [person]
    if contact.address:
        document["address"] = address_of(contact.address)
    custom = {
        "submissionUrl": instance.submission_url,
        "authorityId": office.authority_id,
        "competentArea": office.area,
        "directoryVersion": office.directory_version,
    }
    if contact.website:
        custom["website"] = contact.website
    document["customParameters"] = custom
    document["origin"] = ORIGIN
    return document


def address_of(line: str) -> dict[str, str]:
    """The spec's address object from a one-line address ``"Street 1, 12345 City"``;
    a line of another shape is kept whole as ``additional``."""
    street_part, _, place = line.rpartition(",")
    zip_code, _, city = place.strip().partition(" ")
    street, _, number = street_part.strip().rpartition(" ")
    shaped = len(zip_code) == _ZIP_LENGTH and zip_code.isascii() and zip_code.isdigit()
    if not (shaped and street and number[:1].isdigit() and city.strip()):
        return {"additional": line}
    return {"street": street, "houseNumber": number, "zip": zip_code, "city": city.strip()}


def route_result(
    offices: Sequence[Office], page: Page, instance: Instance, sign: SignJws, *, issued_at: int
) -> dict[str, Any]:
    """The spec's ``route-result``: one page of routes (only that page is signed)."""
    shown = offices[page.offset : page.offset + page.limit]
    return {
        "count": len(shown),
        "offset": page.offset,
        "totalCount": len(offices),
        "routes": [route_document(o, instance, sign, issued_at=issued_at) for o in shown],
    }


def area_result(areas: Sequence[AreaMatch], page: Page) -> dict[str, Any]:
    """The spec's ``area-result``: one page of areas."""
    shown = areas[page.offset : page.offset + page.limit]
    return {
        "count": len(shown),
        "offset": page.offset,
        "totalCount": len(areas),
        "areas": [{"id": a.id, "name": a.name, "type": a.type} for a in shown],
    }


def info() -> dict[str, Any]:
    """The spec's ``info``."""
    return {"version": dict(API_VERSION)}
