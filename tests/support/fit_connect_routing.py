"""FITKO's Routing API spec as the tests read it: schemas to validate answers against."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

import contracts

SPEC_PATH = Path(contracts.__file__).parent / "schemas" / "fit-connect" / "routing-api.yaml"
SPEC_URI = "urn:fitko:routing-api"


@functools.cache
def spec() -> dict[str, Any]:
    """The vendored ``routing-api.yaml``."""
    document: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return document


def check_answer(path: str, status: int, content_type: str, body: Any) -> None:
    """Fail unless the spec documents ``status`` for ``GET path`` with this media type
    and ``body`` is valid against its schema (OpenAPI 3.0: JSON Schema draft 4, formats)."""
    responses = spec()["paths"][path]["get"]["responses"]
    assert str(status) in responses, f"{status} is not documented for {path}"
    media_types = responses[str(status)]["content"]
    media_type = content_type.partition(";")[0].strip()
    assert media_type in media_types, f"{media_type} is not documented for {path} {status}"
    schema = media_types[media_type]["schema"]
    if "$ref" in schema:
        schema = {"$ref": SPEC_URI + schema["$ref"]}
    resource = Resource.from_contents(spec(), default_specification=DRAFT4)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    validator = jsonschema.Draft4Validator(
        schema, registry=registry, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    validator.validate(body)
