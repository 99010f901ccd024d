"""Real schemas, real sample messages: valid ones pass, each kind of invalid one is refused.

xdomea and XWasser samples are the public ones (tests/data/xoev, see SOURCES there);
the Sozialplattform samples are ours, for our schemas (tests/data/sozialplattform).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.validation.decide import Invalid, Valid
from tests.support.validation import (
    BUERGERGELD,
    SCHRIFTGUT,
    SOZIAL_SAMPLES,
    SOZIAL_SERVICES,
    SOZIALANTRAG_URI,
    TRINKWASSER,
    XDOMEA_SAMPLES,
    XDOMEA_URI,
    XML,
    XWASSER_SAMPLES,
    XWASSER_URI,
    run,
    run_sozial_json,
    slugs,
    sozial_sample,
)

XDOMEA_CONSISTENT = [
    "xx_Aussonderung.Anbieteverzeichnis.0501.xml",
    "xx_Aussonderung.Aussonderung.0503.xml",
]


@pytest.mark.parametrize("name", XDOMEA_CONSISTENT)
def test_xdomea_samples_are_valid(name: str) -> None:
    outcome = run((XDOMEA_SAMPLES / name).read_bytes(), SCHRIFTGUT, XDOMEA_URI, XML)

    assert isinstance(outcome, Valid), outcome


@pytest.mark.parametrize(
    "name",
    [
        "xx_Aussonderung.Bewertungsverzeichnis.0502.xml",  # header says 0503
        "xx_Aussonderung.AnbietungEmpfangBestaetigen.0504.xml",  # header says 0501
    ],
)
def test_xdomea_templates_whose_header_names_another_message_are_refused(name: str) -> None:
    """Two of the toolkit's templates are XSD-valid but carry a copied Nachrichtentyp."""
    outcome = run((XDOMEA_SAMPLES / name).read_bytes(), SCHRIFTGUT, XDOMEA_URI, XML)

    assert isinstance(outcome, Invalid)
    assert slugs(outcome) == ["header-message-type"]
    assert outcome.problems[0].location is not None
    assert outcome.problems[0].location.line == 11


@pytest.mark.parametrize("sample", sorted(XWASSER_SAMPLES.glob("*.xml")), ids=lambda p: p.name)
def test_xwasser_samples_are_valid(sample: Path) -> None:
    outcome = run(sample.read_bytes(), TRINKWASSER, XWASSER_URI, XML)

    assert isinstance(outcome, Valid), outcome


@pytest.mark.parametrize("stem", sorted(SOZIAL_SERVICES))
def test_sozialplattform_json_samples_are_valid_with_routing_keys(stem: str) -> None:
    outcome = run_sozial_json(stem)

    assert isinstance(outcome, Valid), outcome
    assert outcome.routing_keys.get("postalCode", "").isdigit()
    assert outcome.routing_keys.keys() & {"ars", "ags"}


@pytest.mark.parametrize("stem", ["buergergeld", "hilfe-zum-lebensunterhalt"])
def test_sozialantrag_xml_samples_are_valid_with_routing_keys(stem: str) -> None:
    data = sozial_sample(f"{stem}.xml")

    outcome = run(data, SOZIAL_SERVICES[stem], SOZIALANTRAG_URI, XML)

    assert isinstance(outcome, Valid), outcome
    expected_json = run_sozial_json(stem)
    assert isinstance(expected_json, Valid)
    assert outcome.routing_keys == expected_json.routing_keys


def test_every_sample_is_used() -> None:
    names = {p.name for p in SOZIAL_SAMPLES.iterdir() if p.suffix in (".json", ".xml")}

    assert names == {f"{s}.json" for s in SOZIAL_SERVICES} | {
        "buergergeld.xml",
        "hilfe-zum-lebensunterhalt.xml",
    }


# -- each kind of invalid document -------------------------------------------------


def _json(stem: str) -> Any:
    return json.loads(sozial_sample(f"{stem}.json"))


def _edited(stem: str, edit: Any) -> bytes:
    document = _json(stem)
    edit(document)
    return json.dumps(document, indent=2, ensure_ascii=False).encode()


def _set(path: str, value: Any) -> Any:
    def edit(document: Any) -> None:
        *parents, last = path.split("/")
        node = document
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value

    return edit


_DELETE = object()
_ADDRESS = "antragsteller/anschrift"
_CODES = f"{_ADDRESS}/verwaltungspolitischeKodierung"

JSON_CASES = {
    "wrong type": (
        "buergergeld",
        "erwerbsfaehig",
        "ja",
        "schema-violation",
        "/erwerbsfaehig",
        '"ja"',
    ),
    "pattern": (
        "wohnberechtigungsschein",
        f"{_ADDRESS}/postleitzahl",
        "4109",
        "schema-violation",
        f"/{_ADDRESS}/postleitzahl",
        '"4109"',
    ),
    "required": (
        "schuldnerberatung",
        "situation/anzahlGlaeubiger",
        _DELETE,
        "schema-violation",
        "/situation/anzahlGlaeubiger",
        '"situation": {',
    ),
    "unknown member": (
        "suchtberatung",
        "ratsuchende/spitzname",
        "x",
        "schema-violation",
        "/ratsuchende",
        '"ratsuchende": {',
    ),
    "not a date": (
        "bildung-und-teilhabe",
        "zeitraum/von",
        "2026-02-30",
        "schema-violation",
        "/zeitraum/von",
        '"2026-02-30"',
    ),
    "birth in future": (
        "buergergeld",
        "bedarfsgemeinschaft/mitglieder/2/geburtsdatum",
        "2027-01-01",
        "rule-date-in-future",
        "/bedarfsgemeinschaft/mitglieder/2/geburtsdatum",
        '"2027-01-01"',
    ),
    "unknown ARS": (
        "hilfe-zum-lebensunterhalt",
        f"{_CODES}/regionalschluessel",
        "150850135999",
        "rule-region-unknown",
        f"/{_CODES}/regionalschluessel",
        '"150850135999"',
    ),
    "unknown AGS": (
        "wohnberechtigungsschein",
        f"{_CODES}/gemeindeschluessel",
        "14713999",
        "rule-region-unknown",
        f"/{_CODES}/gemeindeschluessel",
        '"14713999"',
    ),
    "period reversed": (
        "bildung-und-teilhabe",
        "zeitraum/bis",
        "2026-07-31",
        "rule-dates-out-of-order",
        "/zeitraum/bis",
        '"2026-07-31"',
    ),
    "too young": (
        "wohnberechtigungsschein",
        "antragsteller/geburtsdatum",
        "2010-05-05",
        "rule-minimum-age",
        "/antragsteller/geburtsdatum",
        '"2010-05-05"',
    ),
}


@pytest.mark.parametrize(
    ("stem", "path", "value", "slug", "pointer", "on_line"), JSON_CASES.values(), ids=JSON_CASES
)
def test_each_kind_of_invalid_json_is_refused_with_its_problem(
    stem: str, path: str, value: Any, slug: str, pointer: str, on_line: str
) -> None:
    data = _edited(stem, _set(path, value))

    outcome = run_sozial_json(stem, data)

    assert isinstance(outcome, Invalid)
    assert slugs(outcome) == [slug]
    location = outcome.problems[0].location
    assert location is not None
    assert location.path == pointer
    assert location.line is not None
    assert on_line in data.decode().splitlines()[location.line - 1]
    if isinstance(value, str):
        assert value not in (outcome.problems[0].detail or "")


def test_region_is_required_by_the_rule_when_the_schema_would_allow_none() -> None:
    """Suchtberatung's schema needs a code; strip it after the schema: the rule still holds."""
    data = _edited("suchtberatung", _set("ratsuchende/wohnort/verwaltungspolitischeKodierung", {}))

    outcome = run_sozial_json("suchtberatung", data)

    assert slugs(outcome) == ["schema-violation", "rule-region-missing"]


def test_many_errors_in_one_document_are_all_reported() -> None:
    document = _json("buergergeld")
    document["antragsteller"]["anschrift"]["postleitzahl"] = "5114"
    document["antragsteller"]["geburtsdatum"] = "2031-01-01"
    document["unterkunft"]["grundmiete"] = -1
    document["erklaerungen"]["angabenVollstaendigUndWahr"] = False
    document["antragsteller"]["anschrift"]["verwaltungspolitischeKodierung"] = {
        "regionalschluessel": "053150000001"
    }
    outcome = run_sozial_json("buergergeld", json.dumps(document, indent=1).encode())

    assert isinstance(outcome, Invalid)
    assert slugs(outcome) == [
        "schema-violation",  # postal code pattern
        "schema-violation",  # negative rent
        "schema-violation",  # declaration not given
        "rule-date-in-future",  # birth date
        "rule-region-unknown",
        "rule-minimum-age",
    ]
    assert all(p.location and p.location.line and p.location.path for p in outcome.problems)
    text = json.dumps([p.model_dump() for p in outcome.problems])
    for value in ("5114", "2031-01-01", "053150000001"):
        assert value not in text


def _xml(stem: str, old: str, new: str) -> bytes:
    text = sozial_sample(f"{stem}.xml").decode()
    assert old in text
    return text.replace(old, new, 1).encode()


XML_CASES = {
    "schema": ("<sa:postleitzahl>51147<", "<sa:postleitzahl>5114<", "schema-violation", 42),
    "message id": ("5b0c9f3e-7a41-4c2e-9d6b-2f8e1a7c3d90", "0815", "schema-violation", 7),
    "message type": ("<code>0101</code>", "<code>0102</code>", "header-message-type", 9),
    "created in future": ("2026-03-02T10:15:00", "2026-12-24T18:00:00", "header-created-at", 11),
    "birth in future": (
        "<sa:geburtsdatum>2019-11-30<",
        "<sa:geburtsdatum>2026-12-12<",
        "rule-date-in-future",
        70,
    ),
    "unknown region": (
        "<sa:regionalschluessel>053150000000<",
        "<sa:regionalschluessel>053159999999<",
        "rule-region-unknown",
        45,
    ),
}


@pytest.mark.parametrize(("old", "new", "slug", "line"), XML_CASES.values(), ids=XML_CASES)
def test_each_kind_of_invalid_xml_is_refused_with_its_problem(
    old: str, new: str, slug: str, line: int
) -> None:
    outcome = run(_xml("buergergeld", old, new), BUERGERGELD, SOZIALANTRAG_URI, XML)

    assert isinstance(outcome, Invalid)
    assert slugs(outcome) == [slug]
    location = outcome.problems[0].location
    assert location is not None
    assert location.line == line
    assert location.path is not None
    assert location.path.startswith("/sa:sozialantrag.buergergeld.0101/")


def test_a_missing_author_is_named() -> None:
    text = sozial_sample("buergergeld.xml").decode()
    start, end = text.index("<autor>"), text.index("</autor>") + len("</autor>")

    outcome = run((text[:start] + text[end:]).encode(), BUERGERGELD, SOZIALANTRAG_URI, XML)

    assert slugs(outcome) == ["schema-violation", "header-author"]


def test_header_checks_catch_what_the_xdomea_schema_lets_through() -> None:
    """xdomea's XSD takes any listed type code and any time; the header checks do not."""
    data = (XDOMEA_SAMPLES / "xx_Aussonderung.Aussonderung.0503.xml").read_text()
    data = data.replace("<code>0503</code>", "<code>0501</code>", 1)
    data = data.replace("2018-07-24T17:25:39", "2099-07-24T17:25:39", 1)

    outcome = run(data.encode(), SCHRIFTGUT, XDOMEA_URI, XML)

    assert slugs(outcome) == ["header-message-type", "header-created-at"]


def test_missing_header_parts_are_named() -> None:
    data = (XWASSER_SAMPLES / "administration_receipt.xml").read_text()
    start, end = data.index("<leser>"), data.index("</leser>") + len("</leser>")

    outcome = run((data[:start] + data[end:]).encode(), TRINKWASSER, XWASSER_URI, XML)

    assert isinstance(outcome, Invalid)
    assert "schema-violation" in slugs(outcome)
    assert "header-reader" in slugs(outcome)
