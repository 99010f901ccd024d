"""``route`` picks the most specific competent authority, or says why it cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.routing.directory import (
    Authority,
    Channel,
    Competence,
    Contact,
    Directory,
    load_directory,
    parse_directory,
)
from services.routing.resolve import Routed, Unroutable, route

SEED = Path(__file__).resolve().parents[2] / "services" / "routing" / "data" / "directory.json"
BUERGERGELD = "99900000000101"
HILFE_ZUM_LEBENSUNTERHALT = "99900000000102"
DITFURT = "150855051090"  # Verbandsgemeinde Vorharz (150855051), Landkreis Harz (15085)


def authority(authority_id: str) -> dict[str, object]:
    return {
        "id": authority_id,
        "name": authority_id,
        "state": "15",
        "channel": {"topic": f"amtsweg.delivery.{authority_id}"},
    }


def nested_directory() -> Directory:
    """One competence for each level of ARS containing Ditfurt, each by another authority."""
    areas = {
        "land": "15",
        "bezirk": "150",
        "kreis": "15085",
        "verband": "150855051",
        "gemeinde": DITFURT,
    }
    return parse_directory(
        {
            "version": "nested-1",
            "services": {BUERGERGELD: "Bürgergeld"},
            "authorities": [authority(a) for a in areas],
            "competences": [
                {"authority": a, "services": [BUERGERGELD], "area": area}
                for a, area in areas.items()
            ],
        }
    )


@pytest.mark.parametrize(
    ("ars", "authority_id", "area"),
    [
        (DITFURT, "gemeinde", DITFURT),
        ("150855051125", "verband", "150855051"),  # Groß Quenstedt, same Verbandsgemeinde
        ("150850370370", "kreis", "15085"),  # Wernigerode, same Landkreis
        ("150030000000", "bezirk", "150"),  # Magdeburg: ST has one Regierungsbezirk digit 0
        ("151010000000", "land", "15"),
    ],
)
def test_most_specific_competence_wins(ars: str, authority_id: str, area: str) -> None:
    assert route(nested_directory(), BUERGERGELD, ars) == Routed(authority_id, area, "nested-1")


def test_same_specificity_with_two_authorities_is_ambiguous() -> None:
    contact, competences = Contact(), []
    authorities = []
    for authority_id in ("harz-a", "harz-b"):
        authorities.append(
            Authority(authority_id, authority_id, "15", contact, Channel(f"t.{authority_id}"))
        )
        competences.append(Competence(authority_id, (BUERGERGELD,), "15085"))
    # Built directly: loading a file refuses this overlap (see test_routing_directory).
    directory = Directory("v", {BUERGERGELD: "x"}, tuple(authorities), tuple(competences))

    result = route(directory, BUERGERGELD, "150850370370")

    assert isinstance(result, Unroutable)
    assert result.reason_code == "ambiguous"
    assert "harz-a, harz-b" in result.detail


def test_same_authority_listed_twice_is_not_ambiguous() -> None:
    channel = Channel("amtsweg.delivery.harz")
    directory = Directory(
        "v",
        {BUERGERGELD: "x"},
        (Authority("harz", "Harz", "15", Contact(), channel),),
        (Competence("harz", (BUERGERGELD,), "15085"),) * 2,
    )

    assert route(directory, BUERGERGELD, DITFURT) == Routed("harz", "15085", "v")


def test_ambiguity_is_only_checked_at_the_winning_level() -> None:
    assert isinstance(route(nested_directory(), BUERGERGELD, DITFURT), Routed)


@pytest.mark.parametrize(
    ("service", "ars", "detail"),
    [
        (BUERGERGELD, "053150000000", "no authority is competent"),  # Köln: not in ST
        ("99900000000999", DITFURT, "not offered"),
    ],
)
def test_no_competence(service: str, ars: str, detail: str) -> None:
    result = route(nested_directory(), service, ars)

    assert isinstance(result, Unroutable)
    assert (result.reason_code, result.directory_version) == ("no-competence", "nested-1")
    assert detail in result.detail


@pytest.mark.parametrize("ars", ["15085", "15085037037", "1508503703700", "15085037037X", ""])
def test_malformed_region_is_invalid(ars: str) -> None:
    result = route(nested_directory(), BUERGERGELD, ars)

    assert isinstance(result, Unroutable)
    assert result.reason_code == "invalid-region"


@pytest.mark.parametrize("service", ["9990000000010", "12345678901234", "99-000000000101"])
def test_malformed_service_key_is_invalid(service: str) -> None:
    result = route(nested_directory(), service, DITFURT)

    assert isinstance(result, Unroutable)
    assert result.reason_code == "invalid-service"


@pytest.mark.parametrize(
    ("service", "ars", "authority_id", "area"),
    [
        (BUERGERGELD, "053150000000", "jobcenter-koeln", "053150000000"),
        (BUERGERGELD, "032410009009", "jobcenter-region-hannover", "03241"),  # Laatzen
        (HILFE_ZUM_LEBENSUNTERHALT, "150850370370", "sozialamt-landkreis-harz", "15085"),
        (HILFE_ZUM_LEBENSUNTERHALT, "150030000000", "landesverwaltungsamt-sachsen-anhalt", "15"),
    ],
)
def test_seed_directory_routes(service: str, ars: str, authority_id: str, area: str) -> None:
    directory = load_directory(SEED)

    assert route(directory, service, ars) == Routed(authority_id, area, directory.version)


def test_seed_directory_has_no_hilfe_zum_lebensunterhalt_in_koeln() -> None:
    result = route(load_directory(SEED), HILFE_ZUM_LEBENSUNTERHALT, "053150000000")

    assert isinstance(result, Unroutable)
    assert result.reason_code == "no-competence"
