"""JSON Schema (draft 2020-12) for FIM JSON data: compiled once, offline, value-free findings.

FIM (Föderales Informationsmanagement) describes public services' forms as data fields
and field groups; portals send the filled-in form as JSON (or XML) data that follows a
schema derived from them, named by the schema URI in the submission's metadata.

Every ``*.schema.json`` file in the catalog folder is registered under its ``$id``, so
schemas can share definitions by ``$ref``. Nothing is ever fetched: a ``$ref`` outside
the catalog makes the schema fail to load. Findings describe the violated keyword from
the schema's side ("does not match the pattern ^[0-9]{5}$") and never quote the value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable
from referencing.jsonschema import DRAFT202012

from contracts import linear_regex
from contracts.linear_schema import linear_validator
from services.validation.findings import Finding
from services.validation.hardened_json import JsonDocument
from services.validation.json_positions import pointer_text

SCHEMA_SUFFIX = ".schema.json"
_MAX_NAMES = 5


class JsonSchemaLoadError(Exception):
    """A catalog JSON schema is unusable (invalid, no ``$id``, unresolvable ``$ref``)."""


def _refuse(uri: str) -> Resource[Any]:
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


def schema_registry(root: Path) -> Registry[Any]:
    """Every ``*.schema.json`` under ``root`` by its ``$id``; nothing else resolves."""
    resources: list[tuple[str, Resource[Any]]] = []
    for path in sorted(root.rglob(f"*{SCHEMA_SUFFIX}")):
        try:
            contents = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            msg = f"{path.name}: {error}"
            raise JsonSchemaLoadError(msg) from error
        resource = Resource.from_contents(contents, default_specification=DRAFT202012)
        uri = resource.id()
        if not uri:
            msg = f"{path.name}: a catalog JSON schema needs an $id"
            raise JsonSchemaLoadError(msg)
        resources.append((uri, resource))
    return Registry(retrieve=_refuse).with_resources(resources)  # type: ignore[call-arg]


class JsonSchemaChecker:
    """A compiled JSON schema."""

    def __init__(self, path: Path, registry: Registry[Any]) -> None:
        """Compile ``path`` against ``registry``; every ``$ref`` must resolve now."""
        try:
            contents = json.loads(path.read_text(encoding="utf-8"))
            Draft202012Validator.check_schema(contents)
        except (OSError, ValueError, SchemaError) as error:
            msg = f"{path.name}: {getattr(error, 'message', error)}"
            raise JsonSchemaLoadError(msg) from error
        base = str(contents.get("$id", ""))
        resolver = registry.resolver(base_uri=base)
        for ref in _refs(contents):
            try:
                resolver.lookup(ref)
            except Unresolvable as error:
                msg = f"{path.name}: $ref {ref!r} does not resolve inside the catalog"
                raise JsonSchemaLoadError(msg) from error
        try:
            self._validator = linear_validator(contents, registry=registry)
        except (linear_regex.PatternError, ValueError) as error:
            msg = f"{path.name}: {error} (patterns run on RE2: no backreferences, no lookaround)"
            raise JsonSchemaLoadError(msg) from error

    @property
    def validator(self) -> Validator:
        """The compiled validator (e.g. for a raw benchmark)."""
        return self._validator

    def findings(self, document: JsonDocument, limit: int) -> list[Finding]:
        """Up to ``limit`` violations, each with its JSON pointer (lines come later)."""
        errors = islice(self._validator.iter_errors(document.value), limit)
        return [
            Finding("schema-violation", describe(error), path=_pointer(error)) for error in errors
        ]


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _pointer(error: ValidationError) -> str:
    parts = tuple(str(part) for part in error.absolute_path)
    if error.validator == "required":
        missing = _required_name(error)
        if missing is not None:
            parts = (*parts, missing)
    return pointer_text(parts)


def _required_name(error: ValidationError) -> str | None:
    """The missing member's name: from the schema, so safe to name."""
    names = error.validator_value if isinstance(error.validator_value, list) else []
    instance = error.instance if isinstance(error.instance, dict) else {}
    for name in names:
        if isinstance(name, str) and repr(name) in error.message and name not in instance:
            return name
    return None


def _names(names: list[str]) -> str:
    shown = [name if len(name) <= 40 else f"{name[:40]}..." for name in names[:_MAX_NAMES]]
    more = f" and {len(names) - _MAX_NAMES} more" if len(names) > _MAX_NAMES else ""
    return ", ".join(repr(name) for name in shown) + more


_LIMIT_WORDS = {
    "minLength": "is shorter than {} characters",
    "maxLength": "is longer than {} characters",
    "minimum": "is less than the minimum {}",
    "maximum": "is greater than the maximum {}",
    "exclusiveMinimum": "is not greater than {}",
    "exclusiveMaximum": "is not less than {}",
    "multipleOf": "is not a multiple of {}",
    "minItems": "has fewer than {} items",
    "maxItems": "has more than {} items",
    "minProperties": "has fewer than {} members",
    "maxProperties": "has more than {} members",
    "type": "is not of type {}",
    "pattern": "does not match the pattern {}",
    "format": "is not a valid {}",
}

_FIXED_WORDS = {
    "const": "is not the required value",
    "enum": "is not one of the allowed values",
    "uniqueItems": "has repeated items",
    "anyOf": "matches none of the allowed alternatives",
    "oneOf": "does not match exactly one of the alternatives",
    "not": "matches a form that is not allowed",
    "contains": "has no item of the required form",
    "false": "is not allowed here",
}


def describe(error: ValidationError) -> str:
    """A description of the violation that names the rule, never the value."""
    keyword = str(error.validator)
    if keyword == "required":
        name = _required_name(error)
        return f"required member {name!r} is missing" if name else "a required member is missing"
    if keyword in {"additionalProperties", "unevaluatedProperties"}:
        allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        instance = error.instance if isinstance(error.instance, dict) else {}
        extra = [name for name in instance if name not in allowed]
        return f"member(s) not allowed here: {_names(extra)}"
    if keyword == "dependentRequired":
        return "a member requires other members that are missing"
    if keyword in _LIMIT_WORDS:
        return _LIMIT_WORDS[keyword].format(json.dumps(error.validator_value))
    if (
        keyword == "enum"
        and isinstance(error.validator_value, list)
        and len(error.validator_value) <= 12
    ):
        return f"is not one of {json.dumps(error.validator_value, ensure_ascii=False)}"
    return _FIXED_WORDS.get(keyword, f"violates the schema keyword {keyword!r}")
