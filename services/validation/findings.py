"""Findings: what validation found wrong, before it becomes an RFC 7807 problem.

Every finding has a stable ``code`` (the slug of its problem type URI), a ``message``
that names structure but never a document value, and where known the ``line`` and the
``path`` (an XPath for XML, a JSON pointer for JSON) of the offending part.

Document values stay out of findings because findings go into the ledger, which is
append-only: a birth date quoted in a message could never be erased again.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts import linear_regex
from contracts.problems import Location, Problem

WITHHELD = "[value withheld]"

TITLES = {
    "unknown-service": "Unknown public service",
    "unknown-schema": "Unknown data schema",
    "schema-not-accepted": "Data schema not accepted for this service",
    "mime-type-mismatch": "Data does not have the schema's media type",
    "assurance-level-missing": "Applicant's assurance level missing",
    "assurance-level-too-low": "Applicant's assurance level too low",
    "assurance-level-unknown": "Applicant's assurance level not recognised",
    "schema-violation": "Schema violation",
    "header-message-id": "Message id missing or not a UUID",
    "header-message-type": "Message type missing or not in the code list",
    "header-created-at": "Creation time missing, invalid or in the future",
    "header-author": "Message author missing",
    "header-reader": "Message reader missing",
    "rule-date-in-future": "Date in the future",
    "rule-region-missing": "Region missing",
    "rule-region-unknown": "Unknown regional key",
    "rule-dates-out-of-order": "Dates out of order",
    "rule-minimum-age": "Minimum age not reached",
    "findings-truncated": "More findings than reported",
}
"""Problem titles by code; XML and JSON parser refusals are titled in ``decide``."""

_REDACTIONS = (
    # Element 'x': 'value' is not a valid value of ... / is not accepted / is not an element
    (
        linear_regex.compile(
            r"(: )'.*'( is not (?:a valid value|accepted|an element))", dot_all=True
        ),
        rf"\1{WITHHELD}\2",
    ),
    # [facet ...] The value 'x' is not accepted / has a length of ... / is less than ...
    (linear_regex.compile(r"(value )'.*'( (?:is|has|does) )", dot_all=True), rf"\1{WITHHELD}\2"),
    # identity constraints: No match found for key-sequence ['x'] / Duplicate key-sequence
    (linear_regex.compile(r"(key-sequence )\[.*\]", dot_all=True), rf"\1{WITHHELD}"),
    # encoding errors quote the offending bytes
    (linear_regex.compile(r"(Bytes: )(?:0x[0-9A-Fa-f]{2} ?)+"), rf"\1{WITHHELD}"),
)


def redact_values(message: str) -> str:
    """Remove document values from a parser message; element names, types and facets stay.

    The patterns match greedily up to the last fixed phrase, so a value that itself
    contains quotes is withheld whole.
    """
    for pattern, replacement in _REDACTIONS:
        message = pattern.sub(replacement, message)
    return message


@dataclass(frozen=True)
class Finding:
    """One problem found in a document.

    ``path`` is an XPath for XML (e.g. ``/xdomea:Nachricht/xdomea:Kopf``) and a JSON
    pointer for JSON (e.g. ``/antragsteller/geburtsdatum``).
    """

    code: str
    message: str
    line: int | None = None
    path: str | None = None

    def problem(self, title: str | None = None) -> Problem:
        """This finding as an RFC 7807 problem."""
        location = None
        if self.line is not None or self.path is not None:
            location = Location(line=self.line, path=self.path)
        return Problem.of(
            self.code,
            title or TITLES.get(self.code, "Validation finding"),
            detail=self.message,
            location=location,
        )
