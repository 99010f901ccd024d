"""Business rules as pure functions: boundaries, absent values, the reference day."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.validation.fields import Value
from services.validation.findings import Finding
from services.validation.regions import RegionKeys
from services.validation.rules import (
    RuleContext,
    RuleSpec,
    apply_rules,
    min_age,
    not_in_future,
    ordered,
    parse_date,
    region_known,
)

REGIONS = RegionKeys.of("test", ["053150000000", "150850135135"])
# 23:30 UTC on 1 March is already 2 March in Germany.
CONTEXT = RuleContext(datetime(2026, 3, 1, 23, 30, tzinfo=UTC), REGIONS)


def facts(**values: str | list[str]) -> dict[str, list[Value]]:
    return {
        name: [Value(text, 1, f"/{name}") for text in (v if isinstance(v, list) else [v])]
        for name, v in values.items()
    }


def codes(findings: list[Finding]) -> list[str]:
    return [finding.code for finding in findings]


def test_the_reference_day_is_the_german_calendar_day() -> None:
    spec = RuleSpec("not-in-future", ("d",))

    assert CONTEXT.received_on.isoformat() == "2026-03-02"
    assert not_in_future(spec, facts(d="2026-03-02"), CONTEXT) == []
    assert codes(not_in_future(spec, facts(d=["2026-03-03", "2020-01-01"]), CONTEXT)) == [
        "rule-date-in-future"
    ]


def test_values_that_are_not_dates_are_left_to_the_schema() -> None:
    spec = RuleSpec("not-in-future", ("d",))

    assert not_in_future(spec, facts(d=["morgen", "2026-02-30", ""]), CONTEXT) == []
    assert parse_date("2026-03-02T10:00:00+01:00") is not None


def test_region_keys_are_ars_or_ags_from_the_list() -> None:
    spec = RuleSpec("region-known", ("ars", "ags"))

    assert region_known(spec, facts(ars="05 315 0000 000"), CONTEXT) == []
    assert region_known(spec, facts(ags="15085135"), CONTEXT) == []
    assert codes(region_known(spec, facts(ags="15085999", ars="053150000000"), CONTEXT)) == [
        "rule-region-unknown"
    ]
    assert codes(region_known(spec, facts(ars="0531500000"), CONTEXT)) == ["rule-region-unknown"]
    assert codes(region_known(spec, {}, CONTEXT)) == ["rule-region-missing"]


@pytest.mark.parametrize(
    ("born", "young"),
    [("2011-03-02", False), ("2011-03-03", True), ("2012-02-29", True), ("1950-01-01", False)],
)
def test_minimum_age_counts_birthdays(born: str, young: bool) -> None:
    spec = RuleSpec("min-age", ("birth",), {"years": 15, "reference": "applied"})
    found = min_age(spec, facts(birth=born, applied="2026-03-02"), CONTEXT)

    assert codes(found) == (["rule-minimum-age"] if young else [])


def test_minimum_age_without_a_reference_uses_the_day_received() -> None:
    spec = RuleSpec("min-age", ("birth",), {"years": 18})

    assert codes(min_age(spec, facts(birth="2008-03-03"), CONTEXT)) == ["rule-minimum-age"]
    assert min_age(spec, facts(birth="2008-03-02"), CONTEXT) == []


def test_ordered_dates() -> None:
    spec = RuleSpec("ordered", ("von", "bis"))

    assert ordered(spec, facts(von="2026-01-01", bis="2026-01-01"), CONTEXT) == []
    assert ordered(spec, facts(von="2026-01-01"), CONTEXT) == []
    [finding] = ordered(spec, facts(von="2026-01-02", bis="2026-01-01"), CONTEXT)
    assert (finding.code, finding.path) == ("rule-dates-out-of-order", "/bis")


def test_rules_run_in_manifest_order() -> None:
    specs = [RuleSpec("region-known", ("ars",)), RuleSpec("not-in-future", ("d",))]

    assert codes(apply_rules(specs, facts(d="2030-01-01"), CONTEXT)) == [
        "rule-region-missing",
        "rule-date-in-future",
    ]
