"""The validation decision: a pure function of (data, declared schema, catalog)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from contracts.problems import Location, Problem
from services.validation.catalog import SchemaCatalog
from services.validation.hardened import XmlRejectedError, parse_untrusted
from services.validation.schemas import validate_document

WITHHELD = "[value withheld]"
_REDACTIONS = (
    (re.compile(r"(: )'[^']*'( is not (?:a valid value|accepted|an element))"), rf"\1{WITHHELD}\2"),
    (re.compile(r"(The value )'[^']*'"), rf"\1{WITHHELD}"),
)


def redact_values(message: str) -> str:
    """Remove document values from a parser message: they may be personal data.

    Element names, types and facets stay; the ledger is append-only, so a birth date
    quoted in a finding could never be erased again.
    """
    for pattern, replacement in _REDACTIONS:
        message = pattern.sub(replacement, message)
    return message


@dataclass(frozen=True)
class Valid:
    """The data conforms."""

    catalog_version: str
    schema_uri: str


@dataclass(frozen=True)
class Invalid:
    """The data does not conform; every finding is a problem."""

    catalog_version: str
    problems: list[Problem]


def decide(
    catalog: SchemaCatalog, schema_uri: str, mime_type: str, data: bytes, max_findings: int = 100
) -> Valid | Invalid:
    """Validate ``data`` against the schema it declares."""
    entry = catalog.find(schema_uri)
    if entry is None or entry.mime_type != mime_type:
        return Invalid(
            catalog.version,
            [
                Problem.of(
                    "unknown-schema",
                    "Unknown data schema",
                    detail=f"The catalog has no {mime_type} schema {schema_uri!r}.",
                )
            ],
        )
    try:
        root = parse_untrusted(data)
    except XmlRejectedError as error:
        return Invalid(
            catalog.version,
            [
                Problem.of(
                    f"xml-{error.code}",
                    "XML document refused",
                    detail=str(error),
                    location=Location(line=error.line) if error.line else None,
                )
            ],
        )
    findings = validate_document(root, entry.compiled(), limit=max_findings)
    if not findings:
        return Valid(catalog.version, schema_uri)
    return Invalid(
        catalog.version,
        [
            Problem.of(
                finding.code,
                "Schema violation",
                detail=redact_values(finding.message),
                location=Location(line=finding.line, path=finding.path),
            )
            for finding in findings
        ],
    )
