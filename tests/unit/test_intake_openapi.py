"""The intake's OpenAPI document: every error is a documented problem, every example fits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from events.vault import Vault, local_vault
from services.intake.http import create_app
from services.intake.settings import IntakeSettings

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
ERRORS = {
    ("post", "/v1/submissions"): {"400", "401", "409", "413", "415", "422"},
    ("get", "/v1/submissions/{submission_id}"): {"400", "401", "404"},
    ("get", "/v1/submissions/{submission_id}/events"): {"400", "401", "404"},
    ("post", "/v1/submissions/{submission_id}/supplements"): {
        *("400", "401", "404", "409", "410", "413", "415", "422"),
    },
    ("get", "/v1/submissions/{submission_id}/supplements/{supplement_id}"): {
        *("400", "401", "404"),
    },
}


@pytest.fixture(scope="module")
def module_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vault]:
    opened = local_vault(tmp_path_factory.mktemp("vault"))
    yield opened
    opened.keys.close()


@pytest.fixture(scope="module")
def document(module_vault: Vault) -> dict[str, Any]:
    app = create_app(None, module_vault, IntakeSettings())  # type: ignore[arg-type]  # no ledger
    return app.openapi()


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield method, path, operation


def test_every_error_is_a_problem_document(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        errors = {s for s in operation["responses"] if s.startswith(("4", "5"))}
        assert errors == ERRORS[(method, path)], (method, path)
        for status in errors:
            content = operation["responses"][status]["content"]
            assert list(content) == ["application/problem+json"], (method, path, status)
            assert content["application/problem+json"]["schema"] == PROBLEM_REF
        assert operation["security"] == [{"portalToken": []}]
    assert "HTTPValidationError" not in document["components"]["schemas"]


def _examples(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    for method, path, operation in _operations(document):
        bodies = [("request", operation.get("requestBody", {}))]
        bodies += [(status, r) for status, r in operation["responses"].items()]
        for where, body in bodies:
            for media_type, content in body.get("content", {}).items():
                if "example" in content and media_type != "multipart/form-data":
                    name = f"{method} {path} {where} {media_type}"
                    yield name, content["schema"], content["example"]


def test_every_example_fits_its_schema(document: dict[str, Any]) -> None:
    checked = []
    for name, schema, example in _examples(document):
        root = {**schema, "components": document["components"]}
        errors = [e.message for e in Draft202012Validator(root).iter_errors(example)]
        assert errors == [], name
        checked.append(name)
    assert len(checked) >= 12, checked


def test_the_document_is_served_as_built(document: dict[str, Any], vault: Vault) -> None:
    app = create_app(None, vault, IntakeSettings())  # type: ignore[arg-type]
    assert app.openapi() == document
