"""The national directory: every municipality of every state routes somewhere sensible."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from services.routing import generate
from services.routing.resolve import Routed, Unroutable, route
from tests.support.routing import DIRECTORY, REGIONS, national_context

UNINHABITED = {"039019999999", "070009999999", "130009999999"}
"""Pseudo-districts without residents (coastal waters, the German-Luxembourg condominium)."""
BUERGERGELD, HLU, BUT, WBS, SCHULDEN, SUCHT, GRUNDSICHERUNG = (
    f"999000000001{n:02d}" for n in range(1, 8)
)
EXPECTED_OFFICE = {
    BUERGERGELD: ("jobcenter-", "regionaldirektion-"),
    HLU: ("sozialamt-", "landesamt-", "sozialbehoerde-"),
    GRUNDSICHERUNG: ("sozialamt-", "landesamt-", "sozialbehoerde-"),
    BUT: ("sozialamt-", "landesamt-", "sozialbehoerde-"),
    WBS: ("wohnungsamt-", "landesamt-", "wohnungsbehoerde-"),
    SCHULDEN: ("schuldnerberatung-", "landesamt-", "sozialbehoerde-"),
    SUCHT: ("suchtberatung-", "landesamt-", "sozialbehoerde-"),
}


def test_every_key_of_the_official_list_routes_for_every_service() -> None:
    """11,284 keys x 7 services: an index lookup each, so the whole list is checked."""
    context = national_context()
    directory = context.directory
    levels: Counter[int] = Counter()
    states: Counter[str] = Counter()
    wrong = []
    for ars in context.regions.codes():
        for service in sorted(directory.services):
            outcome = route(directory, service, ars)
            if ars in UNINHABITED:
                assert isinstance(outcome, Unroutable)
                assert outcome.reason_code == "no-competence"  # into triage
                continue
            if not isinstance(outcome, Routed):
                wrong.append((ars, service, outcome.detail))
                continue
            authority = directory.authority(outcome.authority_id)
            assert authority is not None
            if authority.state != ars[:2] or not authority.id.startswith(EXPECTED_OFFICE[service]):
                wrong.append((ars, service, authority.id))
            levels[len(outcome.area)] += 1
            states[ars[:2]] += 1
    assert wrong == []
    assert len(context.regions) == 11_284
    assert sum(levels.values()) == (11_284 - len(UNINHABITED)) * 7
    assert set(levels) == {2, 3, 5, 12}  # state, Bezirk (Hamburg), district, municipality
    assert sorted(states) == [f"{n:02d}" for n in range(1, 17)]


@pytest.mark.parametrize(
    ("ars", "service", "authority", "area"),
    [
        ("110010001001", BUERGERGELD, "jobcenter-berlin-mitte", "11001"),
        ("110120012012", HLU, "sozialamt-berlin-reinickendorf", "11012"),
        ("110000000000", BUERGERGELD, "regionaldirektion-berlin-brandenburg", "11"),
        ("110000000000", WBS, "landesamt-gesundheit-soziales-berlin", "11"),
        ("021010101101", BUERGERGELD, "jobcenter-hamburg", "02"),  # one Jobcenter for Hamburg
        ("021010101101", HLU, "sozialamt-hamburg-mitte", "021"),  # Bezirk Hamburg-Mitte
        ("027010701701", WBS, "wohnungsamt-hamburg-harburg", "027"),
        ("020000000000", HLU, "sozialbehoerde-hamburg", "02"),  # the whole city: forwards
        ("040110000000", BUERGERGELD, "jobcenter-bremen", "04011"),
        ("040110111111", WBS, "wohnungsamt-bremen", "04011"),  # an Ortsteil of Bremen
        ("040120000000", BUERGERGELD, "jobcenter-bremerhaven", "04012"),
        ("040120000000", WBS, "wohnungsamt-bremerhaven", "040120000000"),
        ("091620000000", WBS, "wohnungsamt-muenchen", "091620000000"),  # kreisfreie Stadt
        ("091840112112", WBS, "wohnungsamt-landkreis-muenchen", "09184"),  # Aschheim
        ("091870113113", SUCHT, "suchtberatung-landkreis-rosenheim", "09187"),  # Amerang
        ("091630000000", SUCHT, "suchtberatung-rosenheim", "09163"),  # the city of that name
    ],
)
def test_city_states_and_namesakes_route_sensibly(
    ars: str, service: str, authority: str, area: str
) -> None:
    outcome = route(national_context().directory, service, ars)

    assert isinstance(outcome, Routed), outcome
    assert (outcome.authority_id, outcome.area) == (authority, area)


def test_the_committed_directory_is_what_the_generator_writes() -> None:
    regions = json.loads(REGIONS.read_text(encoding="utf-8"))
    document = generate.generate(regions, generate.KREISE.read_bytes())

    assert generate.render(document) == DIRECTORY.read_text(encoding="utf-8")


def test_the_generator_writes_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "directory.json"
    generate.main(["--out", str(out)])

    assert json.loads(out.read_text(encoding="utf-8"))["version"] == "national-ars2021-07-31"
    assert "2069 authorities" in capsys.readouterr().out
