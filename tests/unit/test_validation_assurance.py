"""The applicant's assurance level: read from the metadata, checked against the catalog."""

from __future__ import annotations

import base64
import json

import pytest

from contracts.assurance import (
    EIDAS_HIGH,
    EIDAS_LOW,
    EIDAS_SUBSTANTIAL,
    NOTHING_PRESENTED,
    AssuranceLevel,
    PresentedLevel,
    identification_report,
    presented_level,
)
from tests.support.factories import xdomea_sample
from tests.support.validation import BUERGERGELD, SCHRIFTGUT, XDOMEA_URI, XML, run, slugs


def _report(payload: dict[str, object]) -> dict[str, str]:
    raw = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return {"type": "identificationReport", "version": "2.0.0", "content": f"e30.{raw}.c2ln"}


@pytest.mark.parametrize(
    ("uri", "level"),
    [
        (EIDAS_LOW, AssuranceLevel.LOW),
        (EIDAS_SUBSTANTIAL, AssuranceLevel.SUBSTANTIAL),
        (EIDAS_HIGH, AssuranceLevel.HIGH),
        ("http://bsi.bund.de/eID/LoA/normal", AssuranceLevel.LOW),
        ("http://bsi.bund.de/eID/LoA/substantiell", AssuranceLevel.SUBSTANTIAL),
        ("http://bsi.bund.de/eID/LoA/hoch", AssuranceLevel.HIGH),
        ("http://eidas.europa.eu/NotNotified/LoA/high", AssuranceLevel.HIGH),
        ("unknown", AssuranceLevel.UNKNOWN),
    ],
)
def test_a_report_presents_its_level(uri: str, level: AssuranceLevel) -> None:
    assert presented_level([identification_report(uri)]) == PresentedLevel(level)


def test_report_1x_loa_sent_is_read_and_the_lowest_of_several_counts() -> None:
    proofs = [_report({"loaSent": EIDAS_HIGH}), _report({"levelOfAssurance": EIDAS_LOW})]

    assert presented_level(proofs) == PresentedLevel(AssuranceLevel.LOW)


@pytest.mark.parametrize(
    "proofs",
    [None, [], "x", [{"type": "other", "content": "e30"}], [_report({"idStatus": "failure"})]],
)
def test_no_usable_proof_presents_nothing(proofs: object) -> None:
    assert presented_level(proofs) == NOTHING_PRESENTED


@pytest.mark.parametrize(
    "proof",
    [
        _report({"levelOfAssurance": "level-42"}),
        _report({"levelOfAssurance": 3}),
        {"type": "identificationReport", "version": "1.0.0", "content": "not-base64-json"},
    ],
)
def test_an_unreadable_level_is_unrecognised(proof: dict[str, object]) -> None:
    presented = presented_level([proof])

    assert presented.unrecognised
    assert presented.presented


def _decide(presented: PresentedLevel, leika: str = BUERGERGELD) -> list[str]:
    return slugs(run(xdomea_sample(), leika, XDOMEA_URI, XML, assurance=presented))


@pytest.mark.parametrize(
    ("presented", "expected"),
    [
        (PresentedLevel(AssuranceLevel.HIGH), []),
        (PresentedLevel(AssuranceLevel.SUBSTANTIAL), []),
        (PresentedLevel(AssuranceLevel.LOW), ["assurance-level-too-low"]),
        (PresentedLevel(AssuranceLevel.UNKNOWN), ["assurance-level-too-low"]),
        (NOTHING_PRESENTED, ["assurance-level-missing"]),
        (PresentedLevel(AssuranceLevel.HIGH, unrecognised=True), ["assurance-level-unknown"]),
    ],
)
def test_buergergeld_requires_substantial(presented: PresentedLevel, expected: list[str]) -> None:
    assert _decide(presented) == expected


def test_the_detail_names_required_and_presented_levels_only() -> None:
    outcome = run(
        xdomea_sample(), BUERGERGELD, XDOMEA_URI, XML, assurance=PresentedLevel(AssuranceLevel.LOW)
    )

    detail = outcome.problems[0].detail  # type: ignore[union-attr]
    assert detail is not None
    assert "'substantial'" in detail
    assert "'low'" in detail


def test_a_service_without_requirement_checks_no_level() -> None:
    assert _decide(NOTHING_PRESENTED, SCHRIFTGUT) == []
    assert _decide(PresentedLevel(unrecognised=True), SCHRIFTGUT) == []
