"""A document that outlasts its time budget is rejected with ``validation-time-exceeded``.

The clock is a counter that ticks once per reading, so "time" is the number of
checkpoints passed: the tests are exact, whatever the machine's speed.
"""

from __future__ import annotations

import pytest

from services.validation.budget import TimeBudget, TimeBudgetExceededError
from services.validation.decide import Invalid, Limits, Valid
from services.validation.hardened import parse_untrusted
from tests.support.validation import (
    SCHRIFTGUT,
    XDOMEA_SAMPLES,
    XDOMEA_URI,
    XML,
    run,
    run_sozial_json,
    slugs,
)

SAMPLE = XDOMEA_SAMPLES / "xx_Aussonderung.Aussonderung.0503.xml"


class Ticks:
    """A clock that advances one second each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def budget(seconds: float) -> Limits:
    return Limits(time=TimeBudget(seconds, Ticks()))


@pytest.mark.parametrize("stem", ["buergergeld", "wohnberechtigungsschein"])
def test_json_schema_validation_stops_at_the_budget(stem: str) -> None:
    assert isinstance(run_sozial_json(stem, limits=budget(10_000)), Valid)

    outcome = run_sozial_json(stem, limits=budget(20))

    assert isinstance(outcome, Invalid)
    assert slugs(outcome) == ["validation-time-exceeded"]
    assert outcome.problems[0].type == "https://amtsweg.de/problems/validation-time-exceeded"


def test_xml_validation_stops_at_the_budget() -> None:
    data = SAMPLE.read_bytes()
    assert isinstance(run(data, SCHRIFTGUT, XDOMEA_URI, XML, limits=budget(10_000)), Valid)

    outcome = run(data, SCHRIFTGUT, XDOMEA_URI, XML, limits=budget(2))

    assert slugs(outcome) == ["validation-time-exceeded"]


def test_the_xml_guard_pass_checks_the_deadline_for_every_element() -> None:
    document = b"<!-- <!DOCTYPE --><r>" + b"<a/>" * 100 + b"</r>"  # takes the guard pass
    deadline = TimeBudget(50, Ticks()).start()

    with pytest.raises(TimeBudgetExceededError, match="longer than 50 s"):
        parse_untrusted(document, deadline=deadline)
    assert len(parse_untrusted(document, deadline=TimeBudget(500, Ticks()).start())) == 100


def test_the_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        TimeBudget(0)
