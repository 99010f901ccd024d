"""Examining a parsed document against its catalog entry: schema, header, rules.

All findings of all three are collected (up to a limit), so one submission learns
everything that is wrong with it at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree

from contracts.linear_schema import checkpoint
from services.validation.budget import NO_DEADLINE, Deadline
from services.validation.entries import SchemaEntry
from services.validation.fields import Field, PointerField, Value, XPathField
from services.validation.findings import Finding
from services.validation.hardened_json import JsonDocument
from services.validation.header import check_header
from services.validation.json_positions import Pointer, locate_lines
from services.validation.json_schemas import JsonSchemaChecker
from services.validation.rules import Facts, RuleContext, apply_rules
from services.validation.schemas import XsdChecker

Document = etree._Element | JsonDocument


@dataclass(frozen=True)
class Examination:
    """What was found, and the named values read on the way."""

    findings: list[Finding]
    facts: Facts


def examine(
    entry: SchemaEntry,
    document: Document,
    context: RuleContext,
    limit: int,
    deadline: Deadline = NO_DEADLINE,
) -> Examination:
    """Up to ``limit`` findings for ``document``, in order: schema, header, rules.

    Raises :class:`~services.validation.budget.TimeBudgetExceededError` once ``deadline``
    has passed (checked before every JSON Schema keyword, and between the steps).
    """
    with checkpoint(deadline.check):
        findings = schema_findings(entry, document, limit)
    deadline.check()
    facts = read_facts({**entry.routing_keys, **entry.fields}, document)
    more: list[Finding] = []
    if entry.header is not None and isinstance(document, etree._Element):
        more += check_header(entry.header, document, context.received_at)
    more += apply_rules(entry.rules, facts, context)
    deadline.check()
    reported = {finding.path for finding in findings if finding.path is not None}
    findings += [f for f in more if f.path is None or f.path not in reported]  # one per spot
    findings = findings[:limit]
    if isinstance(document, JsonDocument):
        findings = with_lines(findings, document.text)
    return Examination(findings, facts)


def schema_findings(entry: SchemaEntry, document: Document, limit: int) -> list[Finding]:
    """Up to ``limit`` violations of the entry's XSD or JSON schema."""
    checker = entry.checker
    if isinstance(checker, JsonSchemaChecker) and isinstance(document, JsonDocument):
        return checker.findings(document, limit)
    if isinstance(checker, XsdChecker) and isinstance(document, etree._Element):
        return checker.findings(document, limit)
    msg = f"a {type(document).__name__} cannot be checked with a {type(checker).__name__}"
    raise TypeError(msg)


def read_facts(fields: Mapping[str, Field], document: Document) -> dict[str, list[Value]]:
    """The values of every named field in ``document``."""
    facts: dict[str, list[Value]] = {}
    for name, field in fields.items():
        if isinstance(document, JsonDocument):
            facts[name] = field.values(document) if isinstance(field, PointerField) else []
        else:
            facts[name] = field.values(document) if isinstance(field, XPathField) else []
    return facts


def routing_keys(entry: SchemaEntry, facts: Facts) -> dict[str, str]:
    """The first value of each routing key the document has, without blanks."""
    keys: dict[str, str] = {}
    for name in entry.routing_keys:
        values = facts.get(name, ())
        if values:
            keys[name] = "".join(values[0].text.split())
    return keys


def with_lines(findings: list[Finding], text: str) -> list[Finding]:
    """Fill in the line of JSON findings from their pointers (or the nearest parent's)."""
    pointers = {f.path: _parse_pointer(f.path) for f in findings if f.path is not None}
    candidates = {
        pointer[:length] for pointer in pointers.values() for length in range(len(pointer) + 1)
    }
    lines = locate_lines(text, candidates)

    def line_of(path: str | None) -> int | None:
        if path is None:
            return None
        pointer = pointers[path]
        for length in range(len(pointer), -1, -1):
            if pointer[:length] in lines:
                return lines[pointer[:length]]
        return None

    return [
        f if f.line is not None else Finding(f.code, f.message, line_of(f.path), f.path)
        for f in findings
    ]


def _parse_pointer(path: str) -> Pointer:
    return tuple(part.replace("~1", "/").replace("~0", "~") for part in path.split("/")[1:])
