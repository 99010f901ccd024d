"""``covering``: the competences for a service covering a whole area, most specific level."""

from __future__ import annotations

import pytest

from services.routing.offices import UnknownServiceError, area_key, covering
from services.routing.resolve import InvalidRegionError
from tests.support.routing import national_context

BUERGERGELD = "99900000000101"
WBS = "99900000000104"
KOELN = "053150000000"


def _authorities(service: str, area: str) -> list[str]:
    return [c.authority for c in covering(national_context().directory, service, area)]


@pytest.mark.parametrize(
    ("service", "area", "expected"),
    [
        (BUERGERGELD, KOELN, ["jobcenter-koeln"]),  # the district's competence covers it
        (BUERGERGELD, "05315", ["jobcenter-koeln"]),
        (WBS, KOELN, ["wohnungsamt-koeln"]),  # the municipality's own competence
        (WBS, "05315", []),  # a competence for one municipality does not cover its district
        (BUERGERGELD, "05", []),  # no authority for all of the state
        (BUERGERGELD, "110010001001", ["jobcenter-berlin-mitte"]),
        (BUERGERGELD, "11", ["regionaldirektion-berlin-brandenburg"]),  # the whole state
    ],
)
def test_covering(service: str, area: str, expected: list[str]) -> None:
    assert _authorities(service, area) == expected


def test_an_unknown_service() -> None:
    with pytest.raises(UnknownServiceError):
        covering(national_context().directory, "99000000000000", KOELN)


@pytest.mark.parametrize(
    ("kind", "key", "area"),
    [
        ("ars", KOELN, KOELN),
        ("ars", "05315", "05315"),
        ("ars", "05", "05"),
        ("ags", "05315000", KOELN),
        ("ags", "05315", "05315"),
    ],
)
def test_area_key(kind: str, key: str, area: str) -> None:
    assert area_key(national_context().regions, kind, key) == area  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "key"),
    [
        ("ars", "053159999999"),  # not in the list
        ("ars", "0531"),  # no ARS length
        ("ars", "17"),  # no such state
        ("ags", "05315999"),
        ("ags", "053150000000"),  # an ARS is no AGS
        ("ars", "\u0660\u0665"),  # digits, but not ASCII ones (Arabic-Indic 0 and 5)
    ],
)
def test_area_key_refuses(kind: str, key: str) -> None:
    with pytest.raises(InvalidRegionError):
        area_key(national_context().regions, kind, key)  # type: ignore[arg-type]
