"""``decide``: the region from the hint or the data (ARS, AGS, postal code + name), then route."""

from __future__ import annotations

from typing import Any

import pytest

from services.routing.decision import decide
from services.routing.postcodes import PostcodeIndex, name_key
from services.routing.regions import RegionIndex
from services.routing.resolve import Routed, Unroutable
from tests.support.routing import national_context

BUERGERGELD = "99900000000101"
WBS = "99900000000104"
KOELN = "053150000000"


def _decide(
    hint: dict[str, Any] | None, data: dict[str, Any] | None = None, service: str = BUERGERGELD
) -> Any:
    return decide(national_context(), service, hint, data)


def _routed(
    hint: dict[str, Any] | None, data: dict[str, Any] | None = None, service: str = BUERGERGELD
) -> tuple[str, str]:
    decision = _decide(hint, data, service)
    assert isinstance(decision.outcome, Routed), decision.outcome
    return decision.outcome.authority_id, decision.region


def _unroutable(
    hint: dict[str, Any] | None, data: dict[str, Any] | None = None, service: str = BUERGERGELD
) -> Unroutable:
    outcome = _decide(hint, data, service).outcome
    assert isinstance(outcome, Unroutable), outcome
    return outcome


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ({"ars": KOELN}, ("jobcenter-koeln", KOELN)),
        ({"ags": "05315000"}, ("jobcenter-koeln", KOELN)),
        ({"postal_code": "50667"}, ("jobcenter-koeln", KOELN)),  # as the intake stores it
        ({"postalCode": "50667"}, ("jobcenter-koeln", KOELN)),  # as validation finds it
        ({"ags": "15085090"}, ("jobcenter-landkreis-harz", "150855051090")),  # Ditfurt
    ],
)
def test_each_kind_of_key_leads_to_the_municipality(
    hint: dict[str, str], expected: tuple[str, str]
) -> None:
    assert _routed(hint) == expected


def test_within_a_source_ars_comes_before_ags_before_postal_code() -> None:
    hint = {"ars": KOELN, "ags": "15085090", "postal_code": "30880"}

    assert _routed(hint) == ("jobcenter-koeln", KOELN)
    assert _routed({"ags": "15085090", "postal_code": "30880"})[0] == "jobcenter-landkreis-harz"


def test_the_hint_comes_before_the_data() -> None:
    assert _routed({"postal_code": "30880"}, {"ars": KOELN})[0] == "jobcenter-region-hannover"
    assert _routed(None, {"ars": KOELN})[0] == "jobcenter-koeln"
    assert _routed({}, {"postalCode": "30880"})[0] == "jobcenter-region-hannover"


def test_the_decision_records_where_the_region_came_from() -> None:
    decision = _decide({"postal_code": "06484", "municipality": "Ditfurt"})

    assert decision.resolution() == {  # where the key came from, never its value
        "source": "hint",
        "key": "postalCode",
        "candidates": ["150855051090"],
        "byMunicipality": True,
    }
    from_data = _decide(None, {"ags": "05315000"})
    assert from_data.resolution() == {"source": "data", "key": "ags"}
    assert from_data.region == KOELN  # the region found is the decision, the key is not kept
    assert "06484" not in str(decision.resolution())
    assert "Ditfurt" not in str(decision.resolution())


def test_a_postal_code_of_two_municipalities_in_one_district_routes_by_the_district() -> None:
    decision = _decide({"postal_code": "06484"})  # Ditfurt and Quedlinburg, Landkreis Harz

    assert isinstance(decision.outcome, Routed)
    assert decision.outcome.authority_id == "jobcenter-landkreis-harz"
    assert decision.region == "15085"  # what the two have in common
    assert decision.resolution()["candidates"] == ["150855051090", "150850235235"]


def test_a_postal_code_across_a_district_border_is_ambiguous_without_the_name() -> None:
    outcome = _unroutable({"postal_code": "84032"})  # Altdorf (Lkr. Landshut), Landshut city

    assert outcome.reason_code == "ambiguous-region"
    assert "092740113113" in outcome.detail
    assert "jobcenter-landkreis-landshut, jobcenter-landshut" in outcome.detail


@pytest.mark.parametrize(
    ("code", "name", "authority", "region"),
    [
        ("84032", "Landshut", "jobcenter-landshut", "092610000000"),
        ("84032", "ALTDORF", "jobcenter-landkreis-landshut", "092740113113"),
        ("24896", "Ahrenvioelfeld", "jobcenter-kreis-nordfriesland", "010545453004"),  # ö
        ("24896", "Treia", "jobcenter-kreis-schleswig-flensburg", "010595993092"),
        ("06484", "Quedlinburg OT Gernrode", "jobcenter-landkreis-harz", "150850235235"),
    ],
)
def test_the_municipality_name_picks_among_a_postal_codes_municipalities(
    code: str, name: str, authority: str, region: str
) -> None:
    assert _routed({"postal_code": code, "municipality": name}) == (authority, region)


def test_a_name_that_matches_none_leaves_every_candidate() -> None:
    outcome = _unroutable({"postal_code": "84032", "municipality": "Musterhausen"})

    assert outcome.reason_code == "ambiguous-region"


def test_a_postal_code_with_a_municipality_newer_than_the_key_list_is_invalid() -> None:
    outcome = _unroutable({"postal_code": "38685"})  # Langelsheim, merged after 2021-07-31

    assert outcome.reason_code == "invalid-region"
    assert "03153019, not in the regional key list 2021-07-31" in outcome.detail


@pytest.mark.parametrize(
    ("hint", "reason", "detail"),
    [
        ({"ars": "053150000001"}, "invalid-region", "the given ARS is not in"),
        ({"ags": "05315001"}, "invalid-region", "the given AGS is not in"),
        ({"ars": "0531500000"}, "invalid-region", "neither a 12-digit ARS"),
        ({"postal_code": "00000"}, "invalid-region", "postal code in the hint is not in"),
        ({"postal_code": "5066"}, "invalid-region", "in the hint is not a 5-digit postal code"),
        ({"municipality": "Köln"}, "no-region", "names a municipality but no"),
        (None, "no-region", "neither the routing hint nor the data"),
        ({"ars": "039019999999"}, "no-competence", "no authority is competent"),
    ],
)
def test_keys_that_do_not_exist_are_refused_with_the_reason(
    hint: dict[str, str] | None, reason: str, detail: str
) -> None:
    outcome = _unroutable(hint)

    assert outcome.reason_code == reason
    assert detail in outcome.detail
    if reason != "no-competence":  # there the detail names the region found, a decision
        for value in (hint or {}).values():
            assert value not in outcome.detail  # a refused key is never quoted
    assert outcome.directory_version == national_context().version


def test_a_refused_key_from_the_data_names_the_data_not_the_value() -> None:
    outcome = _unroutable(None, {"postalCode": "00000"})

    assert outcome.reason_code == "invalid-region"
    assert "the postal code in the data is not in the postal code list" in outcome.detail
    assert "00000" not in outcome.detail


def test_a_wrong_service_key_is_its_own_reason() -> None:
    assert _unroutable({"ars": KOELN}, service="12345678901234").reason_code == "invalid-service"
    assert _unroutable({"ars": KOELN}, service="99900000000999").reason_code == "no-competence"


def test_the_same_postal_code_may_route_by_the_municipality_for_another_service() -> None:
    # Wohnberechtigungsschein: the municipality in a kreisfreie Stadt, the district elsewhere
    assert _routed({"postal_code": "84032", "municipality": "Landshut"}, service=WBS) == (
        "wohnungsamt-landshut",
        "092610000000",
    )


def test_names_fold_case_umlauts_and_the_official_suffix() -> None:
    assert name_key("Köln, Stadt") == name_key("KOELN") == "koeln"
    assert name_key("Halle (Saale)") == "halle saale"
    assert name_key("Groß Quenstedt") == "gross quenstedt"


def test_a_small_postcode_index() -> None:
    regions = RegionIndex("test", [("010010000000", "Flensburg, Stadt")])
    rows = [("24937", "01001000", "Flensburg"), ("24937", "01001999", "Nirgendwo")]

    index = PostcodeIndex(rows, regions)

    assert [p.ars for p in index.places("24937")] == ["010010000000"]
    assert index.unknown_keys("24937") == ("01001999",)
    assert index.places("99999") == ()
    assert index.codes() == ["24937"]
