"""Checking a portal's metadata: the FIT-Connect schema, then Amtsweg's own model.

The schema is 2.1.0 for a document whose ``$schema`` names a 2.x metadata schema, 1.0.0
otherwise.

The schema (JSON Schema draft 2020-12, with format checks) says what FIT-Connect allows;
the model (:class:`contracts.submission.Metadata`) adds what Amtsweg needs to act, such
as a LeiKa service identifier. Every finding of either is reported, each with a JSON
pointer into the metadata document, and never with the value found there: metadata can
hold personal data (reply channels, payment references).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from itertools import islice
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError
from jsonschema.protocols import Validator
from pydantic import ValidationError

from contracts.fit_connect import metadata_major, metadata_schema
from contracts.linear_schema import linear_validator
from contracts.problems import Problem
from contracts.submission import Metadata, RoutingHint
from services.intake.errors import ProblemError
from services.intake.limits import check_depth, check_size, too_deep
from services.intake.settings import IntakeSettings

MAX_METADATA_ERRORS = 20
"""At most this many findings are listed in one problem."""


@cache
def metadata_validator(major: int = 1) -> Validator:
    """The compiled FIT-Connect metadata schema ``major`` (1: 1.0.0, 2: 2.1.0), built once
    per process (patterns on RE2)."""
    schema = metadata_schema(major)
    Draft202012Validator.check_schema(schema)
    return linear_validator(schema)


def json_pointer(path: Any) -> str:
    """An RFC 6901 pointer for a sequence of keys and indexes (``""`` is the document)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def schema_errors(document: Any, limit: int = MAX_METADATA_ERRORS) -> list[dict[str, str]]:
    """Findings of the FIT-Connect schema, at most ``limit``, ordered by location."""
    found = islice(metadata_validator(metadata_major(document)).iter_errors(document), limit)
    errors = [
        {"pointer": _pointer(e), "keyword": str(e.validator), "detail": _say(e)} for e in found
    ]
    return sorted(errors, key=lambda e: (e["pointer"], e["keyword"]))


def _pointer(error: SchemaError) -> str:
    """Where the finding is; a missing member is pointed at, not the object that lacks it."""
    path = list(error.absolute_path)
    names = error.validator_value
    if error.validator == "required" and isinstance(names, list):
        path.extend(name for name in names if error.message == _required(name))
    return json_pointer(path)


def _required(name: str) -> str:
    return f"{name!r} is a required property"


def _say(error: SchemaError) -> str:
    """What is wrong, from the schema's side only (the instance is never quoted)."""
    keyword, expected = error.validator, error.validator_value
    if keyword == "required":
        return "is required"
    if keyword == "format":
        return f"is not a valid {expected}"
    if keyword == "type":
        return f"must be of type {expected}"
    if keyword == "enum" and isinstance(expected, list):
        return f"must be one of {', '.join(map(str, expected))}"
    if keyword == "pattern":
        return f"must match the pattern {expected}"
    return f"fails {keyword}: {expected}"[:200]


def model_errors(error: ValidationError) -> Iterator[dict[str, str]]:
    """Findings of Amtsweg's metadata model (pydantic), in the same shape."""
    for e in error.errors(include_input=False, include_url=False):
        yield {"pointer": json_pointer(e["loc"]), "keyword": e["type"], "detail": e["msg"]}


def parse_metadata(
    document: Any, settings: IntakeSettings, limit: int = MAX_METADATA_ERRORS
) -> Metadata:
    """The metadata, or a 422 ``invalid-metadata`` problem listing every finding.

    First within its bounds (:mod:`services.intake.limits`): a 422 ``too-deeply-nested``
    or a 413 problem otherwise, before any recursive check reads it.
    """
    check_depth(document, "the metadata", settings.max_metadata_depth)
    check_size(document, "the metadata", settings.max_metadata_bytes)
    try:
        errors = schema_errors(document, limit)
        metadata = Metadata.model_validate(document)
    except RecursionError:  # a backstop: the depth bound keeps every reader far from it
        raise too_deep("the metadata", settings.max_metadata_depth) from None
    except ValidationError as error:
        reported = {e["pointer"] for e in errors}
        errors.extend(e for e in model_errors(error) if e["pointer"] not in reported)
    else:
        if not errors:
            return metadata
    errors = errors[:limit]
    version = "2.1.0" if metadata_major(document) == 2 else "1.0.0"
    problem = Problem.of(
        "invalid-metadata",
        "Invalid metadata",
        status=422,
        detail=f"The metadata does not follow FIT-Connect metadata {version} as Amtsweg needs it; "
        f"{len(errors)} finding(s) listed (at most {limit}), each with a JSON pointer into it.",
        errors=errors,
    )
    raise ProblemError(422, [problem])


def parse_routing(document: Any, settings: IntakeSettings) -> RoutingHint | None:
    """The optional routing hint, or a 422 ``invalid-routing-hint`` problem."""
    if document is None:
        return None
    check_depth(document, "the routing hint", settings.max_metadata_depth)
    try:
        return RoutingHint.model_validate(document)
    except ValidationError as error:
        raise ProblemError.single(
            422, "invalid-routing-hint", "Invalid routing hint", str(error.errors()[0]["msg"])
        ) from None
