"""The validation decision: service and schema lookup, locations, limits, no personal data."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.validation.decide import Invalid, Limits, Valid
from services.validation.findings import redact_values
from tests.support.factories import xdomea_sample
from tests.support.validation import (
    BUERGERGELD,
    JSON,
    SCHRIFTGUT,
    SOZIALANTRAG_URI,
    TRINKWASSER,
    XDOMEA_URI,
    XML,
    XWASSER_SAMPLES,
    XWASSER_URI,
    bundled_catalog,
    json_schema_uri,
    run,
    run_sozial_json,
    slugs,
    sozial_sample,
)

_at = datetime.fromisoformat


def test_real_sample_is_valid_and_records_the_catalog_version() -> None:
    outcome = run(xdomea_sample(), SCHRIFTGUT, XDOMEA_URI, XML)

    assert outcome == Valid(bundled_catalog().version, XDOMEA_URI, {})


def test_routing_keys_come_from_the_data() -> None:
    outcome = run_sozial_json("buergergeld")

    assert isinstance(outcome, Valid)
    assert outcome.routing_keys == {
        "postalCode": "51147",
        "municipality": "Köln",
        "ars": "053150000000",
        "ags": "05315000",
    }


def test_unknown_service_is_rejected() -> None:
    outcome = run(xdomea_sample(), "99900000009999", XDOMEA_URI, XML)

    assert slugs(outcome) == ["unknown-service"]


def test_unknown_schema_is_rejected_and_names_what_the_service_accepts() -> None:
    outcome = run(xdomea_sample(), SCHRIFTGUT, "urn:example:unknown", XML)

    assert isinstance(outcome, Invalid)
    assert slugs(outcome) == ["unknown-schema"]
    assert XDOMEA_URI in (outcome.problems[0].detail or "")


def test_a_schema_of_another_service_is_not_accepted() -> None:
    """The declared schema must be accepted for the submission's own service."""
    data = sozial_sample("buergergeld.json")

    outcome = run(data, TRINKWASSER, json_schema_uri("buergergeld"), JSON)

    assert slugs(outcome) == ["schema-not-accepted"]


def test_the_same_schema_serves_two_services_with_their_own_message_types() -> None:
    data = sozial_sample("hilfe-zum-lebensunterhalt.xml")

    assert isinstance(run(data, "99900000000102", SOZIALANTRAG_URI, XML), Valid)
    assert slugs(run(data, BUERGERGELD, SOZIALANTRAG_URI, XML)) == ["header-message-type"]


def test_declared_media_type_must_match_the_schema() -> None:
    outcome = run(xdomea_sample(), SCHRIFTGUT, XDOMEA_URI, JSON)

    assert slugs(outcome) == ["mime-type-mismatch"]


def test_every_finding_is_reported_with_its_location_and_without_values() -> None:
    document = (
        xdomea_sample()
        .replace(
            b"<xdomea:Datum>2013-12-30</xdomea:Datum>", b"<xdomea:Datum>30.12.2013</xdomea:Datum>"
        )
        .replace(
            b"<xdomea:Datum>2016-07-16</xdomea:Datum>", b"<xdomea:Datum>16.07.2016</xdomea:Datum>"
        )
    )
    outcome = run(document, SCHRIFTGUT, XDOMEA_URI, XML)

    assert isinstance(outcome, Invalid)
    assert slugs(outcome) == ["schema-violation", "schema-violation"]
    assert [p.location.line for p in outcome.problems if p.location] == [83, 155]
    assert all(p.location and p.location.path for p in outcome.problems)
    details = " ".join(p.detail or "" for p in outcome.problems)
    assert "30.12.2013" not in details
    assert "16.07.2016" not in details
    assert "Datum" in details


def test_findings_are_capped_and_the_cap_is_said() -> None:
    document = xdomea_sample().replace(b"<xdomea:Datum>2013-12-30<", b"<xdomea:Datum>x<")
    document = document.replace(b"<xdomea:Datum>2016-07-16<", b"<xdomea:Datum>y<")
    document = document.replace(b"<xdomea:IstDienstlich>1<", b"<xdomea:IstDienstlich>z<")

    outcome = run(document, SCHRIFTGUT, XDOMEA_URI, XML, limits=Limits(max_findings=2))

    assert slugs(outcome) == ["schema-violation", "schema-violation", "findings-truncated"]


def test_hostile_xml_becomes_a_problem_not_an_exception() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><l>&b;</l>'
    )
    outcome = run(bomb, SCHRIFTGUT, XDOMEA_URI, XML)

    assert isinstance(outcome, Invalid)
    assert slugs(outcome) == ["xml-dtd-forbidden"]
    assert outcome.problems[0].location is not None
    assert outcome.problems[0].location.line == 1


def test_hostile_json_becomes_a_problem_not_an_exception() -> None:
    outcome = run_sozial_json("buergergeld", b"[" * 100_000 + b"]" * 100_000)

    assert slugs(outcome) == ["json-too-deep"]


def test_xwasser_sample_is_valid_for_its_service() -> None:
    data = (XWASSER_SAMPLES / "olb_report_minimal.xml").read_bytes()

    assert isinstance(run(data, TRINKWASSER, XWASSER_URI, XML), Valid)


def test_now_is_when_the_submission_arrived_so_a_replay_decides_the_same() -> None:
    data = sozial_sample("buergergeld.json")  # applied on 2026-03-02
    earlier = run_sozial_json("buergergeld", data, received_at=_at("2026-03-01T12:00:00+00:00"))
    later = run_sozial_json("buergergeld", data, received_at=_at("2026-03-02T12:00:00+00:00"))

    assert slugs(earlier) == ["rule-date-in-future"]
    assert isinstance(later, Valid)
    assert run_sozial_json("buergergeld", data, received_at=_at("2026-03-02T12:00:00+00:00")) == (
        later
    )


def test_header_creation_time_tolerates_a_little_clock_skew() -> None:
    data = sozial_sample("buergergeld.xml")  # created 2026-03-02T10:15:00 German time (09:15Z)
    created = _at("2026-03-02T09:15:00+00:00")

    on_time = run(data, BUERGERGELD, SOZIALANTRAG_URI, XML, received_at=created)
    skewed = created - timedelta(minutes=4)
    too_early = created - timedelta(minutes=6)

    assert isinstance(on_time, Valid)
    assert isinstance(run(data, BUERGERGELD, SOZIALANTRAG_URI, XML, received_at=skewed), Valid)
    assert slugs(run(data, BUERGERGELD, SOZIALANTRAG_URI, XML, received_at=too_early)) == [
        "header-created-at"
    ]


@pytest.mark.parametrize(
    ("message", "leaked"),
    [
        (
            (
                "Element '{urn:x}Geburtsdatum': '1990-13-01' is not a valid value of the atomic "
                "type 'xs:date'."
            ),
            "1990-13-01",
        ),
        (
            (
                "Element 'PLZ': [facet 'pattern'] The value 'AB123' is not accepted by the "
                "pattern '[0-9]{5}'."
            ),
            "AB123",
        ),
        (
            (
                "Element 'Name': [facet 'enumeration'] The value 'O'Brien' is not an element "
                "of the set {'a', 'b'}."
            ),
            "Brien",
        ),
        (
            (
                "Element 'Name': [facet 'maxLength'] The value 'Erika Mustermann' has a length "
                "of '16'; this exceeds the allowed maximum length of '10'."
            ),
            "Mustermann",
        ),
        ("Element 'x', attribute 'y': 'geheim' is not a valid value of the atomic type", "geheim"),
        ("Element 'k': No match found for key-sequence ['4711'] of keyref 'r'.", "4711"),
        ("Input is not proper UTF-8, indicate encoding !\nBytes: 0xE4 0x20 0x4D 0x61", "0xE4"),
    ],
)
def test_redaction_withholds_values_and_keeps_structure(message: str, leaked: str) -> None:
    redacted = redact_values(message)

    assert leaked not in redacted
    assert "[value withheld]" in redacted
    assert redacted.startswith(message[:8])
