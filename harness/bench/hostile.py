"""Hostile input shapes for the parsers and checks, each buildable at any size.

Each shape is a document (or metadata, or parser message) built to hit one known way of
making a parser super-linear: a backtracking pattern against ``"aaaa…!"``, an
unterminated string that a scanner restarts on at every quote, deep nesting, a long
attribute value, many elements, an encoding the pre-scan must not be fooled by. Running
a shape gives an outcome label ("rejected:<slug>" or "accepted"), so a test can assert
what happens at every size while ``amtsweg bench parsing`` times it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contracts.linear_schema import linear_validator
from services.intake.metadata import schema_errors
from services.validation.findings import WITHHELD, redact_values
from services.validation.hardened import XmlLimits, XmlRejectedError, parse_untrusted
from services.validation.hardened_json import JsonRejectedError, parse_untrusted_json

SIZES = (10_000, 100_000, 1_000_000)
"""10 KB, 100 KB and 1 MB."""

NESTED_QUANTIFIERS = {
    "type": "object",
    "properties": {"name": {"type": "string", "pattern": "^(a+)+$"}},
    "patternProperties": {"^(a|aa)+$": {"type": "string"}},
    "additionalProperties": False,
}
"""Exponential under a backtracking engine after some 30 characters."""

XML_LIMITS = XmlLimits(max_elements=100_000)


@dataclass(frozen=True)
class Shape:
    """A hostile input: ``build(size)`` makes it, ``run(input)`` gives the outcome label."""

    name: str
    build: Callable[[int], Any]
    run: Callable[[Any], str]


def _metadata_signature(size: int) -> dict[str, Any]:
    """FIT-Connect's ``^[a-zA-Z0-9+/=]+|[a-zA-Z0-9_-]+$``: quadratic on ``_aaa…!``.

    The ``_`` fails the anchored first branch, so a backtracking search tries the second
    branch from every position, each time running to the ``!``."""
    content = "_" + "a" * (size - 2) + "!"
    return {"contentStructure": {"data": {"signature": {"content": content}}}}


def _metadata_outcome(document: dict[str, Any]) -> str:
    found = {(e["pointer"], e["keyword"]) for e in schema_errors(document, limit=100)}
    pattern = ("/contentStructure/data/signature/content", "pattern")
    return "rejected:pattern" if pattern in found else "accepted"


_NESTED = linear_validator(NESTED_QUANTIFIERS)


def _nested_quantifiers(size: int) -> dict[str, str]:
    half = size // 2
    return {"name": "a" * (half - 1) + "!", "a" * (half - 1) + "!": "key"}


def _schema_outcome(instance: dict[str, str]) -> str:
    keywords = sorted({str(error.validator) for error in _NESTED.iter_errors(instance)})
    return "rejected:" + ",".join(keywords) if keywords else "accepted"


def _json(data: bytes) -> str:
    try:
        parse_untrusted_json(data)
    except JsonRejectedError as error:
        return f"rejected:json-{error.code}"
    return "accepted"


def _xml(data: bytes) -> str:
    try:
        root = parse_untrusted(data, XML_LIMITS)
    except XmlRejectedError as error:
        return f"rejected:xml-{error.code}"
    return f"accepted:{sum(1 for _ in root.iter())}" if len(root) else "accepted"


def _redaction_message(size: int) -> str:
    """A libxml2-style message whose value holds ``': '`` over and over."""
    repeats = max(1, (size - 60) // 3)
    value = ": '" * repeats
    return f"Element 'x': '{value}' is not a valid value of the atomic type"


def _redaction(message: str) -> str:
    redacted = redact_values(message)
    return "withheld" if WITHHELD in redacted and ": ': '" not in redacted else "quoted"


SHAPES = (
    Shape("metadata-pattern", _metadata_signature, _metadata_outcome),
    Shape("schema-nested-quantifiers", _nested_quantifiers, _schema_outcome),
    Shape("json-unterminated-strings", lambda size: b'"\\' * (size // 2), _json),
    Shape("json-deep", lambda size: b"[" * size, _json),
    Shape("json-long-string", lambda size: b'["' + b"a" * (size - 4) + b'"]', _json),
    Shape("xml-deep", lambda size: b"<a>" * (size // 3), _xml),
    Shape(
        "xml-long-attribute",
        lambda size: b'<r a="' + b"x" * (size - 10) + b'"/>',
        _xml,
    ),
    Shape("xml-many-elements", lambda size: b"<r>" + b"<a/>" * (size // 4 - 2) + b"</r>", _xml),
    Shape(
        "xml-utf16-many-elements",
        lambda size: ("<r>" + "<a/>" * (size // 8 - 2) + "</r>").encode("utf-16"),
        _xml,
    ),
    Shape("parser-message-redaction", _redaction_message, _redaction),
)
