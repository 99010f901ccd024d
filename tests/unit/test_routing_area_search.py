"""``AreaIndex``: areas found by name words and postal codes, with ``*`` wildcards."""

from __future__ import annotations

import functools

import pytest

from services.routing.area_search import AreaIndex, Pattern, area_kind, patterns
from tests.support.routing import national_context

KOELN = "053150000000"
MAGDEBURG = "150030000000"
FRANKFURT_MAIN = "064120000000"
BERLIN_MITTE = "110010001001"


@functools.cache
def _index() -> AreaIndex:
    context = national_context()
    return AreaIndex(context.regions, context.postcodes)


def _ids(*expressions: str) -> list[str]:
    return [area.ars for area in _index().search(expressions)]


@pytest.mark.parametrize(
    ("expressions", "expected"),
    [
        (("Köln",), [KOELN]),
        (("koeln",), [KOELN]),
        (("KÖLN, Stadt",), [KOELN]),  # the official name as /areas answers it
        (("50667",), [KOELN]),  # a postal code
        (("*agde*",), [MAGDEBURG]),
        (("Frankfurt", "60311"), [FRANKFURT_MAIN]),  # every expression must match
        (("Frankfurt am Main",), [FRANKFURT_MAIN]),
        (("Mitte",), [BERLIN_MITTE]),
    ],
)
def test_exact_areas(expressions: tuple[str, ...], expected: list[str]) -> None:
    assert _ids(*expressions) == expected


def test_a_prefix_finds_every_area_with_a_word_starting_so() -> None:
    found = _index().search(["Mag*"])
    assert MAGDEBURG in [a.ars for a in found]
    assert all(any(w.startswith("mag") for w in a.name.casefold().split()) for a in found)


def test_a_suffix_and_a_middle_wildcard() -> None:
    ending = _index().search(["*burg"])
    assert MAGDEBURG in [a.ars for a in ending]
    assert len(ending) > 100
    both = _ids("Ma*burg")
    assert MAGDEBURG in both
    assert set(both) < {a.ars for a in ending}


def test_a_postal_code_prefix() -> None:
    assert FRANKFURT_MAIN in _ids("603*")
    assert KOELN not in _ids("603*")


def test_nothing_for_unknown_words_and_words_too_short() -> None:
    assert _ids("Atlantis") == []
    assert _ids("a") == []
    assert _ids("Köln", "Atlantis") == []


def test_results_ordered_by_name() -> None:
    names = [area.name.casefold() for area in _index().search(["Berlin"])]
    assert names[0] == "berlin, stadt"
    assert len(names) > 1


@pytest.mark.parametrize(
    ("token", "pattern", "expected"),
    [
        ("magdeburg", "mag*", True),
        ("magdeburg", "*burg", True),
        ("magdeburg", "ma*burg", True),
        ("magdeburg", "*gde*", True),
        ("magdeburg", "magdeburg", True),
        ("magdeburg", "mag", False),
        ("magdeburg", "burg*", False),
        ("aburg", "ab*burg", False),  # the parts may not overlap
        ("abxburg", "ab*burg", True),
    ],
)
def test_pattern_matches(token: str, pattern: str, *, expected: bool) -> None:
    (compiled,) = patterns(pattern)
    assert compiled.matches(token) is expected


def test_patterns_fold_and_drop_short_words() -> None:
    assert patterns("Frankfurt a. M.") == [Pattern(("frankfurt",), True, True)]
    assert patterns("Gö*") == [Pattern(("goe",), True, False)]


@pytest.mark.parametrize(
    ("ars", "name", "district_size", "kind"),
    [
        (KOELN, "Köln, Stadt", 1, "Kreisfreie Stadt"),
        ("081150029029", "Magstadt", 26, "Gemeinde"),
        ("065340014014", "Marburg, Universitätsstadt", 22, "Stadt"),
        ("092730147147", "Mainburg, St", 30, "Stadt"),
        ("097770000000", "Irgendwo, M", 30, "Markt"),
        ("095769451451", "Abenberger Wald, gemfr. Gebiet", 30, "gemeindefreies Gebiet"),
        (BERLIN_MITTE, "Mitte", 13, "Stadtteil"),
        ("110000000000", "Berlin, Stadt", 1, "Kreisfreie Stadt"),
    ],
)
def test_area_kind(ars: str, name: str, district_size: int, kind: str) -> None:
    assert area_kind(ars, name, district_size) == kind
