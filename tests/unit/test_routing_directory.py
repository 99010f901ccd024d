"""The authority directory is checked completely when loaded, and versioned by content."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.routing.directory import LEIKA_KEY_PATTERN
from services.routing.directory_file import (
    DirectoryError,
    directory_version,
    load_directory,
    parse_directory,
)
from services.routing.regions import RegionIndex, default_region_index

NATIONAL = Path(__file__).resolve().parents[2] / "services" / "routing" / "data" / "directory.json"
BUERGERGELD = "99900000000101"
HLU, GRUNDSICHERUNG = "99900000000102", "99900000000107"


def valid_document() -> dict[str, Any]:
    return {
        "version": "test-1",
        "services": {
            BUERGERGELD: "Bürgergeld",
            HLU: "Hilfe zum Lebensunterhalt",
            GRUNDSICHERUNG: "Grundsicherung",
        },
        "groups": {"sozialhilfe": [HLU, GRUNDSICHERUNG]},
        "authorities": [
            {
                "id": "jobcenter-koeln",
                "name": "Jobcenter Köln",
                "state": "05",
                "contact": {"website": "https://example.org"},
                "channel": {"topic": "amtsweg.delivery.jobcenter-koeln"},
            },
            {
                "id": "jobcenter-duesseldorf",
                "name": "Jobcenter Düsseldorf",
                "state": "05",
                "channel": {"topic": "amtsweg.delivery.jobcenter-duesseldorf"},
            },
            {
                "id": "amtsweg-sachsen-anhalt",
                "name": "Amtsweg Sachsen-Anhalt",
                "state": "15",
                "channel": {
                    "amtsweg": {"url": "https://amtsweg.st.example", "portalId": "amtsweg-nrw"}
                },
            },
        ],
        "competences": [
            {"authority": "jobcenter-koeln", "services": [BUERGERGELD], "area": "05315"},
            {"authority": "jobcenter-duesseldorf", "services": [BUERGERGELD], "area": "05111"},
            {"authority": "jobcenter-koeln", "services": ["sozialhilfe"], "area": "05315"},
            {
                "id": "st-everything",
                "authority": "amtsweg-sachsen-anhalt",
                "services": [BUERGERGELD, "sozialhilfe"],
                "area": "15",
            },
        ],
    }


@pytest.fixture(scope="module")
def regions() -> RegionIndex:
    return default_region_index()


def test_national_directory_loads_against_the_official_key_list(regions: RegionIndex) -> None:
    directory = load_directory(NATIONAL, regions)

    assert directory.label.startswith("national-")
    assert len(directory.authorities) > 2000
    assert {len(c.area) for c in directory.competences} == {2, 3, 5, 12}
    assert directory.groups["sozialhilfe-sgb-xii"] == (HLU, GRUNDSICHERUNG)


def test_every_service_key_in_the_national_directory_is_leika_shaped_and_named() -> None:
    document = json.loads(NATIONAL.read_text(encoding="utf-8"))
    named = {key for c in document["competences"] for key in c["services"]}

    assert named <= set(document["services"]) | set(document["groups"])
    assert all(LEIKA_KEY_PATTERN.fullmatch(key) for key in document["services"])
    assert all(document["services"].values())


def test_parsed_directory_has_authorities_groups_channels_and_an_index() -> None:
    directory = parse_directory(valid_document())

    koeln = directory.authority("jobcenter-koeln")
    assert koeln is not None
    assert koeln.channel.topic == "amtsweg.delivery.jobcenter-koeln"
    assert not koeln.channel.fit_connect
    assert koeln.contact.website == "https://example.org"
    remote = directory.authority("amtsweg-sachsen-anhalt")
    assert remote is not None
    assert remote.channel.topic is None
    assert remote.channel.handover is not None
    assert remote.channel.handover.url == "https://amtsweg.st.example"
    assert remote.channel.handover.portal_id == "amtsweg-nrw"
    assert directory.authority("nobody") is None
    assert directory.competent_for(BUERGERGELD, "05315") == ("jobcenter-koeln",)
    assert directory.competent_for(GRUNDSICHERUNG, "05315") == ("jobcenter-koeln",)  # group
    assert directory.competent_for(BUERGERGELD, "05") == ()
    [grouped] = directory.competences_at(HLU, "05315")
    assert grouped.id == "jobcenter-koeln/sozialhilfe/05315"
    assert grouped.level == "district"
    assert directory.competences_at(HLU, "15")[0].id == "st-everything"
    assert directory.services[BUERGERGELD] == "Bürgergeld"


def test_a_fit_connect_receiver_has_neither_topic_nor_handover() -> None:
    document = valid_document()
    document["authorities"][0]["channel"] = {"fitConnect": {}}

    koeln = parse_directory(document).authority("jobcenter-koeln")

    assert koeln is not None
    assert koeln.channel.fit_connect
    assert koeln.channel.topic is None
    assert koeln.channel.handover is None
    assert koeln.channel.callback_url is None


def test_the_version_is_the_label_and_a_hash_of_the_content() -> None:
    document = valid_document()
    version = parse_directory(document).version

    assert version == directory_version("test-1", document)
    assert version.startswith("test-1+")
    assert len(version.partition("+")[2]) == 16
    reordered = json.loads(json.dumps(document, sort_keys=True))
    assert parse_directory(reordered).version == version  # formatting is not content

    changed = copy.deepcopy(document)
    changed["competences"][0]["area"] = "053150000000"
    assert parse_directory(changed).version != version  # the same label, another version
    assert parse_directory(document, basis="other key lists").version != version


Edit = Callable[[dict[str, Any]], None]


def set_in(path: tuple[str | int, ...], value: Any) -> Edit:
    def edit(document: dict[str, Any]) -> None:
        target: Any = document
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return edit


def delete(path: tuple[str | int, ...]) -> Edit:
    def edit(document: dict[str, Any]) -> None:
        target: Any = document
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return edit


def append_competence(authority: str, area: str, services: list[str] | None = None) -> Edit:
    def edit(document: dict[str, Any]) -> None:
        document["competences"].append(
            {"authority": authority, "services": services or [BUERGERGELD], "area": area}
        )

    return edit


BAD_DOCUMENTS: dict[str, tuple[Edit, str]] = {
    "unknown authority": (
        set_in(("competences", 0, "authority"), "jobcenter-bonn"),
        "competences[0].authority: unknown authority 'jobcenter-bonn'",
    ),
    "area of 4 digits": (set_in(("competences", 0, "area"), "0531"), "competences[0].area"),
    "area with a letter": (set_in(("competences", 0, "area"), "0531X"), "not an ARS prefix"),
    "area of 13 digits": (set_in(("competences", 0, "area"), "0" * 13), "not an ARS prefix"),
    "LeiKa key too short": (
        set_in(("competences", 0, "services"), ["9912"]),
        "neither a LeiKa key nor a group",
    ),
    "LeiKa key without 99": (
        set_in(("competences", 0, "services"), ["12000000000101"]),
        "neither a LeiKa key nor a group",
    ),
    "unknown group": (set_in(("competences", 2, "services"), ["sozialamt"]), "nor a group"),
    "service not listed": (
        set_in(("competences", 0, "services"), ["99900000000999"]),
        "not listed in 'services'",
    ),
    "group with an unlisted key": (
        set_in(("groups", "sozialhilfe"), [HLU, "99900000000999"]),
        "groups.sozialhilfe: ['99900000000999'] are not listed",
    ),
    "empty group": (set_in(("groups", "sozialhilfe"), []), "groups.sozialhilfe: must be"),
    "bad group name": (set_in(("groups", "Sozial Hilfe"), [HLU]), "a group name must match"),
    "bad key in services": (set_in(("services", "1234"), "x"), "services.1234"),
    "no services": (set_in(("competences", 0, "services"), []), "non-empty array"),
    "id with capitals and space": (
        set_in(("authorities", 0, "id"), "Jobcenter Köln"),
        "authorities[0].id",
    ),
    "id of one character": (set_in(("authorities", 0, "id"), "j"), "authorities[0].id"),
    "id starting with a dash": (set_in(("authorities", 0, "id"), "-jc"), "authorities[0].id"),
    "id over 63 characters": (set_in(("authorities", 0, "id"), "j" * 64), "authorities[0].id"),
    "missing channel": (delete(("authorities", 0, "channel")), "missing delivery channel"),
    "channel without topic": (set_in(("authorities", 0, "channel"), {}), "missing delivery"),
    "topic of another authority": (
        set_in(("authorities", 0, "channel", "topic"), "amtsweg.delivery.jobcenter-duesseldorf"),
        "must be amtsweg.delivery.jobcenter-koeln",
    ),
    "topic and handover": (
        set_in(("authorities", 2, "channel", "topic"), "amtsweg.delivery.amtsweg-sachsen-anhalt"),
        "give one of channel.topic, .amtsweg or .fitConnect, not ['topic', 'amtsweg']",
    ),
    "topic and FIT-Connect": (
        set_in(("authorities", 0, "channel", "fitConnect"), {}),
        "not ['topic', 'fitConnect']",
    ),
    "FIT-Connect with settings": (
        set_in(("authorities", 0, "channel"), {"fitConnect": {"url": "https://x.example"}}),
        "channel.fitConnect: must be an empty object",
    ),
    "FIT-Connect with a callback": (
        set_in(
            ("authorities", 0, "channel"),
            {"fitConnect": {}, "callbackUrl": "https://x.example/cb"},
        ),
        "a FIT-Connect receiver has no channel.callbackUrl",
    ),
    "handover over plain http": (
        set_in(("authorities", 2, "channel", "amtsweg", "url"), "http://amtsweg.st.example"),
        "channel.amtsweg.url: must be https://",
    ),
    "handover without portal": (
        delete(("authorities", 2, "channel", "amtsweg", "portalId")),
        "must be an object with 'url' (intake API) and 'portalId'",
    ),
    "handover with a callback": (
        set_in(("authorities", 2, "channel", "callbackUrl"), "https://x.example/cb"),
        "a handover has no callbackUrl",
    ),
    "bad state": (set_in(("authorities", 0, "state"), "17"), "not a state key"),
    "contact not an object": (set_in(("authorities", 0, "contact"), "x"), "contact"),
    "duplicate authority id": (
        set_in(("authorities", 1), valid_document()["authorities"][0]),
        "duplicate id 'jobcenter-koeln'",
    ),
    "overlap with another authority": (
        append_competence("jobcenter-duesseldorf", "05315"),
        (
            "competences[4]: service 99900000000101 in area 05315 is already assigned "
            "to 'jobcenter-koeln'"
        ),
    ),
    "overlap through a group": (
        append_competence("jobcenter-duesseldorf", "05315", [GRUNDSICHERUNG]),
        "service 99900000000107 in area 05315 is already assigned to 'jobcenter-koeln'",
    ),
    "same competence twice": (append_competence("jobcenter-koeln", "05315"), "already assigned"),
    "duplicate competence id": (
        set_in(("competences", 0, "id"), "st-everything"),
        "competence id 'st-everything' is used by competences[0]",
    ),
    "missing version": (delete(("version",)), "version: must be a non-empty string"),
    "version with a plus": (set_in(("version",), "1+2"), "version: '1+2' must match"),
    "competences not a list": (set_in(("competences",), {}), "competences: must be an array"),
}


@pytest.mark.parametrize(("edit", "expected"), BAD_DOCUMENTS.values(), ids=BAD_DOCUMENTS.keys())
def test_bad_directory_is_refused_with_a_clear_problem(edit: Edit, expected: str) -> None:
    document = copy.deepcopy(valid_document())
    edit(document)

    with pytest.raises(DirectoryError) as caught:
        parse_directory(document)

    assert any(expected in problem for problem in caught.value.problems), caught.value.problems


def test_area_missing_from_the_key_list_is_refused_when_checked(regions: RegionIndex) -> None:
    document = valid_document()
    document["competences"][0]["area"] = "05399"

    assert parse_directory(document).competences[0].area == "05399"
    with pytest.raises(DirectoryError, match="05399 is not in the ARS list 2021-07-31"):
        parse_directory(document, regions)


def test_every_problem_is_reported_at_once() -> None:
    document = valid_document()
    document["authorities"][1]["state"] = "00"
    document["competences"][0]["area"] = "1"
    del document["authorities"][0]["channel"]

    with pytest.raises(DirectoryError) as caught:
        parse_directory(document)

    assert len(caught.value.problems) >= 3


@pytest.mark.parametrize("content", ["{not json", "[]", ""])
def test_unreadable_file_is_a_directory_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "directory.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(DirectoryError, match=r"directory\.json"):
        load_directory(path)


def test_missing_file_is_a_directory_error(tmp_path: Path) -> None:
    with pytest.raises(DirectoryError, match=r"absent\.json"):
        load_directory(tmp_path / "absent.json")
