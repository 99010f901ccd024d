"""FITKO's Submission API 1.1.3 (vendored), for checking answers against its schemas."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import httpx
import yaml
from jsonschema import Draft202012Validator, FormatChecker

SPEC = (
    Path(__file__).parents[2]
    / "contracts"
    / "schemas"
    / "fit-connect"
    / "submission-api.v1.1.3.yaml"
)


@cache
def spec() -> dict[str, Any]:
    """The parsed OpenAPI document."""
    document: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return document


def assert_answers_as_specified(response: httpx.Response, path: str, method: str = "get") -> Any:
    """The response's status is one the spec lists for the operation, its media type and
    body those the spec gives for that status (schemas with their ``$ref``s), and every
    required header is there; returns the body."""
    operation = spec()["paths"][path][method]
    status = str(response.status_code)
    assert status in operation["responses"], f"{status} is not specified for {method} {path}"
    specified = operation["responses"][status]
    if "content" not in specified:  # no body (204, or 201 with only a Location)
        assert not response.content, f"{status} of {method} {path} has no body"
        _assert_headers(response, specified)
        return None
    media_type = response.headers["content-type"].partition(";")[0]
    assert media_type in specified["content"], f"{media_type} not specified for {status}"
    schema = specified["content"][media_type]["schema"]
    body = response.json()
    validator = Draft202012Validator(
        schema | {"components": spec()["components"]}, format_checker=FormatChecker()
    )
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert not errors, errors
    _assert_headers(response, specified)
    return body


def _assert_headers(response: httpx.Response, specified: dict[str, Any]) -> None:
    for name, header in specified.get("headers", {}).items():
        resolved = _resolve(header)
        if resolved.get("required"):
            value = response.headers.get(name)
            assert value is not None, f"header {name} is required"
            assert value in resolved["schema"].get("enum", [value])


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    reference = node.get("$ref")
    if reference is None:
        return node
    target: Any = spec()
    for part in reference.removeprefix("#/").split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    resolved: dict[str, Any] = target
    return resolved
