"""Business rules: small pure functions over named values read from a document.

A catalog manifest lists the rules of each accepted schema, e.g.
``{"rule": "not-in-future", "fields": ["birthDate", "applicationDate"]}``; the names are
routing keys or fields of the same manifest. Every rule sees the values, the time the
submission was received (not the wall clock, so a replay decides the same) and the
official regional key list. Values that are not dates are left to the schema.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from contracts import linear_regex
from services.validation.fields import Value
from services.validation.findings import Finding
from services.validation.header import GERMAN_TIME
from services.validation.regions import RegionKeys

_DATE = linear_regex.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")

Facts = Mapping[str, Sequence[Value]]


@dataclass(frozen=True)
class RuleSpec:
    """One rule as a manifest states it."""

    rule: str
    fields: tuple[str, ...]
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleContext:
    """What rules may know besides the document."""

    received_at: datetime
    regions: RegionKeys

    @functools.cached_property
    def received_on(self) -> date:
        """The German calendar day the submission arrived."""
        return self.received_at.astimezone(GERMAN_TIME).date()


def parse_date(text: str) -> date | None:
    """The calendar date of an xs:date or xs:dateTime (offset ignored); None if not one."""
    match = _DATE.match(text)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _dated(values: Sequence[Value]) -> list[tuple[Value, date]]:
    return [(value, day) for value in values if (day := parse_date(value.text)) is not None]


def not_in_future(spec: RuleSpec, facts: Facts, context: RuleContext) -> list[Finding]:
    """Each date lies on or before the day the submission was received."""
    return [
        Finding(
            "rule-date-in-future",
            f"{name} lies after the day the submission was received",
            value.line,
            value.path,
        )
        for name in spec.fields
        for value, day in _dated(facts.get(name, ()))
        if day > context.received_on
    ]


def region_known(spec: RuleSpec, facts: Facts, context: RuleContext) -> list[Finding]:
    """At least one regional key is given, and every one given is in the official list."""
    given = [(name, value) for name in spec.fields for value in facts.get(name, ())]
    if not given:
        names = " or ".join(spec.fields)
        return [Finding("rule-region-missing", f"no regional key ({names}) is given")]
    version = context.regions.version
    return [
        Finding(
            "rule-region-unknown",
            f"{name} is not a key in the official regional key list {version}",
            value.line,
            value.path,
        )
        for name, value in given
        if not context.regions.knows("".join(value.text.split()))
    ]


def ordered(spec: RuleSpec, facts: Facts, _context: RuleContext) -> list[Finding]:
    """The first date field is on or before the second (e.g. a period's start and end)."""
    earlier_name, later_name = spec.fields
    earlier = _dated(facts.get(earlier_name, ()))
    later = _dated(facts.get(later_name, ()))
    if not earlier or not later or earlier[0][1] <= later[0][1]:
        return []
    value = later[0][0]
    detail = f"{later_name} lies before {earlier_name}"
    return [Finding("rule-dates-out-of-order", detail, value.line, value.path)]


def min_age(spec: RuleSpec, facts: Facts, context: RuleContext) -> list[Finding]:
    """A person born on the field's date has reached ``years`` on the reference date."""
    years = int(spec.params["years"])
    reference_name = spec.params.get("reference")
    reference = context.received_on
    if reference_name:
        dated = _dated(facts.get(str(reference_name), ()))
        if not dated:
            return []
        reference = dated[0][1]
    return [
        Finding(
            "rule-minimum-age",
            f"{name} gives an age under {years} on the reference date",
            value.line,
            value.path,
        )
        for name in spec.fields
        for value, born in _dated(facts.get(name, ()))
        if _age(born, reference) < years
    ]


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


Rule = Callable[[RuleSpec, Facts, RuleContext], list[Finding]]

RULES: dict[str, Rule] = {
    "not-in-future": not_in_future,
    "region-known": region_known,
    "ordered": ordered,
    "min-age": min_age,
}
"""Every rule a manifest may name."""


def apply_rules(specs: Sequence[RuleSpec], facts: Facts, context: RuleContext) -> list[Finding]:
    """Every finding of every rule, in manifest order."""
    return [finding for spec in specs for finding in RULES[spec.rule](spec, facts, context)]
