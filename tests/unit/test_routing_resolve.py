"""``route`` picks the most specific competent authority, or says why it cannot."""

from __future__ import annotations

import pytest

from services.routing.directory import Authority, Channel, Competence, Contact, Directory
from services.routing.directory_file import parse_directory
from services.routing.resolve import Routed, Unroutable, matching_competences, route
from tests.support.routing import national_context

BUERGERGELD = "99900000000101"
HILFE_ZUM_LEBENSUNTERHALT = "99900000000102"
GRUNDSICHERUNG = "99900000000107"
WOHNBERECHTIGUNGSSCHEIN = "99900000000104"
DITFURT = "150855051090"  # Verbandsgemeinde Vorharz (150855051), Landkreis Harz (15085)
AREAS = {
    "land": "15",
    "bezirk": "150",
    "kreis": "15085",
    "verband": "150855051",
    "gemeinde": DITFURT,
}


def authority(authority_id: str) -> dict[str, object]:
    return {
        "id": authority_id,
        "name": authority_id,
        "state": "15",
        "channel": {"topic": f"amtsweg.delivery.{authority_id}"},
    }


def nested_directory() -> Directory:
    """One competence for each level of ARS containing Ditfurt, each by another authority."""
    return parse_directory(
        {
            "version": "nested-1",
            "services": {BUERGERGELD: "Bürgergeld"},
            "authorities": [authority(a) for a in AREAS],
            "competences": [
                {"authority": a, "services": [BUERGERGELD], "area": area}
                for a, area in AREAS.items()
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
    directory = nested_directory()
    expected = Routed(authority_id, area, directory.version, f"{authority_id}/{BUERGERGELD}/{area}")

    assert route(directory, BUERGERGELD, ars) == expected


def test_the_version_recorded_is_the_content_derived_one() -> None:
    result = route(nested_directory(), BUERGERGELD, DITFURT)

    assert result.directory_version.startswith("nested-1+")


def test_declined_authorities_are_passed_over_level_by_level() -> None:
    directory = nested_directory()

    first = route(directory, BUERGERGELD, DITFURT, exclude={"gemeinde"})
    second = route(directory, BUERGERGELD, DITFURT, exclude={"gemeinde", "verband", "kreis"})
    none_left = route(directory, BUERGERGELD, DITFURT, exclude=set(AREAS))

    assert isinstance(first, Routed)
    assert (first.authority_id, first.area) == ("verband", "150855051")
    assert isinstance(second, Routed)
    assert second.authority_id == "bezirk"
    assert isinstance(none_left, Unroutable)
    assert none_left.reason_code == "no-competence"
    assert "apart from those that declined (bezirk, gemeinde, kreis, land, verband)" in (
        none_left.detail
    )


def test_runners_up_are_the_less_specific_matches() -> None:
    found = matching_competences(nested_directory(), BUERGERGELD, "150855051125")

    assert [c.authority for c in found] == ["verband", "kreis", "bezirk", "land"]
    assert [c.level for c in found] == ["association", "district", "region", "state"]
    assert matching_competences(nested_directory(), BUERGERGELD, "15085") == []


def _two_at(area: str, *, same_authority: bool = False) -> Directory:
    """Two competences for one area. Built directly: loading a file refuses this overlap."""
    ids = ("harz", "harz") if same_authority else ("harz-a", "harz-b")
    authorities = {i: Authority(i, i, "15", Contact(), Channel(f"t.{i}")) for i in ids}
    competences = tuple(Competence(i, (BUERGERGELD,), area) for i in ids)
    return Directory("v", {BUERGERGELD: "x"}, tuple(authorities.values()), competences)


def test_same_specificity_with_two_authorities_is_ambiguous() -> None:
    result = route(_two_at("15085"), BUERGERGELD, "150850370370")

    assert isinstance(result, Unroutable)
    assert result.reason_code == "ambiguous"
    assert "harz-a, harz-b" in result.detail


def test_ambiguity_ends_when_one_of_the_two_declined() -> None:
    result = route(_two_at("15085"), BUERGERGELD, "150850370370", exclude={"harz-a"})

    assert isinstance(result, Routed)
    assert result.authority_id == "harz-b"


def test_same_authority_listed_twice_is_not_ambiguous() -> None:
    result = route(_two_at("15085", same_authority=True), BUERGERGELD, DITFURT)

    assert result == Routed("harz", "15085", "v", f"harz/{BUERGERGELD}/15085")


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
    assert result.reason_code == "no-competence"
    assert result.directory_version.startswith("nested-1+")
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
        (BUERGERGELD, "053150000000", "jobcenter-koeln", "05315"),
        (BUERGERGELD, "032410009009", "jobcenter-region-hannover", "03241"),  # Laatzen
        (HILFE_ZUM_LEBENSUNTERHALT, "150850370370", "sozialamt-landkreis-harz", "15085"),
        (GRUNDSICHERUNG, "150850370370", "sozialamt-landkreis-harz", "15085"),  # the group
        (HILFE_ZUM_LEBENSUNTERHALT, "150030000000", "sozialamt-magdeburg", "15003"),
        (WOHNBERECHTIGUNGSSCHEIN, "053150000000", "wohnungsamt-koeln", "053150000000"),
        (WOHNBERECHTIGUNGSSCHEIN, "150850370370", "wohnungsamt-landkreis-harz", "15085"),
    ],
)
def test_national_directory_keeps_the_seed_authorities(
    service: str, ars: str, authority_id: str, area: str
) -> None:
    result = route(national_context().directory, service, ars)

    assert isinstance(result, Routed)
    assert (result.authority_id, result.area) == (authority_id, area)
