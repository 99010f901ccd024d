"""Routing hints (ARS or AGS) are checked and converted with the official key list."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.routing.regions import (
    RegionDataError,
    RegionIndex,
    ags_of,
    default_region_index,
)
from services.routing.resolve import InvalidRegionError, normalise_region

KOELN = "053150000000"
DITFURT = "150855051090"  # in the Verbandsgemeinde Vorharz: Gemeindeverband digits 5051


@pytest.fixture(scope="module")
def regions() -> RegionIndex:
    return default_region_index()


def test_vendored_list_is_loaded_once(regions: RegionIndex) -> None:
    assert default_region_index() is regions
    assert regions.version == "2021-07-31"
    assert len(regions) == 11_284


def test_lookups(regions: RegionIndex) -> None:
    assert regions.exists(KOELN)
    assert not regions.exists("053150000001")
    assert regions.name(KOELN) == "Köln, Stadt"
    assert regions.name("053150000001") is None
    assert all(regions.covers(p) for p in ("05", "053", "05315", "053150000", KOELN))
    assert not regions.covers("17")
    assert not regions.covers("0531")


def test_ags_is_ars_without_the_gemeindeverband_digits() -> None:
    assert ags_of(DITFURT) == "15085090"


@pytest.mark.parametrize(
    ("ags", "ars"),
    [
        ("05315000", KOELN),
        ("03241009", "032410009009"),  # Laatzen, Region Hannover
        ("15085090", DITFURT),  # naive padding would give 150850000090, which does not exist
    ],
)
def test_ags_maps_to_its_ars(regions: RegionIndex, ags: str, ars: str) -> None:
    assert regions.ars_for_ags(ags) == ars
    assert normalise_region(ags) == ars


def test_naive_ags_padding_would_be_wrong(regions: RegionIndex) -> None:
    assert not regions.exists("15085" + "0000" + "090")


@pytest.mark.parametrize("hint", [KOELN, " 05 3 15 0000 000 ", "053150000000\n"])
def test_known_ars_is_returned_without_spaces(hint: str) -> None:
    assert normalise_region(hint) == KOELN


@pytest.mark.parametrize(
    ("hint", "match"),
    [
        ("053150000001", "the given ARS is not in the regional key list 2021-07-31"),
        ("05315001", "the given AGS is not in the regional key list 2021-07-31"),
        ("05315", "neither"),
        ("", "neither"),
        ("05315000000X", "neither"),
        ("٠٥٣١٥٠٠٠٠٠٠٠", "neither"),  # Arabic-Indic digits are not key digits
    ],
)
def test_unknown_or_malformed_hints_are_invalid_regions(hint: str, match: str) -> None:
    with pytest.raises(InvalidRegionError, match=match) as caught:
        normalise_region(hint)

    assert caught.value.reason_code == "invalid-region"
    if hint.strip():
        assert hint.strip() not in str(caught.value)  # the given value is not quoted


def test_a_given_index_is_used_instead_of_the_default() -> None:
    tiny = RegionIndex("test", [("010010000000", "Flensburg, Stadt")])

    assert normalise_region("01001000", tiny) == "010010000000"
    with pytest.raises(InvalidRegionError):
        normalise_region(KOELN, tiny)


def test_index_refuses_keys_that_are_not_12_digits() -> None:
    with pytest.raises(RegionDataError, match="05315"):
        RegionIndex("test", [("05315", "Köln")])


@pytest.mark.parametrize("content", ["{", '{"daten": []}', '{"metadaten": {"version": 1}}'])
def test_unreadable_list_is_a_region_data_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "regions.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(RegionDataError, match=r"regions\.json"):
        RegionIndex.from_file(path)
