"""The validation decision with the bundled catalog: outcomes, locations, no personal data."""

from __future__ import annotations

from services.validation.catalog import SchemaCatalog, load_catalog
from services.validation.decide import Invalid, Valid, decide, redact_values
from services.validation.settings import ValidationSettings
from tests.support.factories import XDOMEA_URI, xdomea_sample

XML = "application/xml"


def _catalog() -> SchemaCatalog:
    return load_catalog(ValidationSettings().catalog)


def test_real_sample_is_valid_and_records_the_catalog_version() -> None:
    catalog = _catalog()
    outcome = decide(catalog, XDOMEA_URI, XML, xdomea_sample())
    assert outcome == Valid(catalog.version, XDOMEA_URI)


def test_unknown_schema_is_rejected() -> None:
    outcome = decide(_catalog(), "urn:example:unknown", XML, xdomea_sample())
    assert isinstance(outcome, Invalid)
    assert outcome.problems[0].type.endswith("/unknown-schema")


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
    outcome = decide(_catalog(), XDOMEA_URI, XML, document)
    assert isinstance(outcome, Invalid)
    assert len(outcome.problems) == 2
    lines = sorted(p.location.line for p in outcome.problems if p.location and p.location.line)
    assert lines == [83, 155]
    assert all(p.location and p.location.path for p in outcome.problems)
    details = " ".join(p.detail or "" for p in outcome.problems)
    assert "30.12.2013" not in details
    assert "16.07.2016" not in details
    assert "Datum" in details


def test_hostile_xml_becomes_a_problem_not_an_exception() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><l>&b;</l>'
    )
    outcome = decide(_catalog(), XDOMEA_URI, XML, bomb)
    assert isinstance(outcome, Invalid)
    assert outcome.problems[0].type.endswith("/xml-dtd-forbidden")


def test_redaction_keeps_structure() -> None:
    message = (
        "Element '{urn:x}Geburtsdatum': '1990-13-01' is not a valid value of the atomic "
        "type 'xs:date'."
    )
    assert redact_values(message) == (
        "Element '{urn:x}Geburtsdatum': [value withheld] is not a valid value of the atomic "
        "type 'xs:date'."
    )
    pattern = "Element 'PLZ': [facet 'pattern'] The value 'AB123' is not accepted by the pattern"
    assert "AB123" not in redact_values(pattern)
