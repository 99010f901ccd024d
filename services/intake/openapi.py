"""The intake's OpenAPI document: problem responses, examples and the bearer scheme.

Every error a route can answer is listed with ``application/problem+json`` and the
``Problem`` schema (FastAPI's own ``422 HTTPValidationError`` is never answered here: a
malformed parameter is a ``400`` problem). The examples are real: the request example's
hashes are those of its data, so it is accepted as it stands.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from contracts.assurance import EIDAS_SUBSTANTIAL, identification_report
from contracts.problems import Problem, problem_type

PROBLEM_JSON = "application/problem+json"
COMPONENT_REF = "#/components/schemas/{model}"

_EXAMPLE_DATA = b'<?xml version="1.0" encoding="UTF-8"?><antrag/>'
_EXAMPLE_METADATA: dict[str, Any] = {
    "publicServiceType": {"identifier": "urn:de:fim:leika:leistung:99900000000101"},
    "contentStructure": {
        "data": {
            "hash": {"type": "sha512", "content": hashlib.sha512(_EXAMPLE_DATA).hexdigest()},
            "submissionSchema": {
                "schemaUri": "urn:xoev-de:xdomea:schema:3.0.0",
                "mimeType": "application/xml",
            },
        },
        "attachments": [],
    },
    # Bürgergeld requires the applicant identified at "substantial" (an unsigned report here)
    "authenticationInformation": [identification_report(EIDAS_SUBSTANTIAL)],
}
JSON_REQUEST_EXAMPLE: dict[str, Any] = {
    "metadata": _EXAMPLE_METADATA,
    "data": base64.b64encode(_EXAMPLE_DATA).decode(),
    "attachments": [],
    "routing": {"ars": "053150000000"},
}
MULTIPART_REQUEST_EXAMPLE: dict[str, Any] = {
    "metadata": json.dumps(_EXAMPLE_METADATA),
    "data": _EXAMPLE_DATA.decode(),
    "routing": json.dumps({"ars": "053150000000"}),
}
_SUBMISSION_ID = "5b3a1f0e-8d2c-4e6f-9a7b-1c2d3e4f5a6b"
_LINKS = {
    "self": {"href": f"/v1/submissions/{_SUBMISSION_ID}"},
    "events": {"href": f"/v1/submissions/{_SUBMISSION_ID}/events"},
}
ACCEPTED_EXAMPLE = {"submissionId": _SUBMISSION_ID, "status": "received", "_links": _LINKS}
STATUS_EXAMPLE = {
    "submissionId": _SUBMISSION_ID,
    "status": "dispatched",
    "serviceIdentifier": "urn:de:fim:leika:leistung:99900000000101",
    "authorityId": "jobcenter-koeln",
    "deliveryId": "0f5e2d1c-3b4a-5968-8776-a5b4c3d2e1f0",
    "receivedAt": "2026-03-02T09:15:04.120391+00:00",
    "updatedAt": "2026-03-02T09:15:05.871002+00:00",
    "problems": [],
    "_links": _LINKS,
}
TRAIL_EXAMPLE = {
    "offset": 0,
    "count": 1,
    "totalCount": 4,
    "events": [
        {
            "version": 1,
            "event": "Received",
            "timestamp": "2026-03-02T09:15:04.120391+00:00",
            "hash": "3c5f0e8a" + "0" * 56,
            "prevHash": "0" * 64,
            "data": {"portal_id": "portal-nrw", "idempotency_key": "antrag-4711"},
        }
    ],
}

_PROBLEMS: dict[int, tuple[str, str, str, str]] = {
    400: (
        "The request cannot be read: malformed JSON or multipart body, invalid parameter.",
        "malformed-request",
        "Malformed request",
        "multipart parts 'metadata' and 'data' are required",
    ),
    401: (
        "No valid portal bearer token (with a `WWW-Authenticate` challenge).",
        "unauthorized",
        "Unauthorized",
        "The bearer token is not valid.",
    ),
    404: (
        "No such submission for this portal (another portal's submission is not found too).",
        "submission-not-found",
        "Submission not found",
        f"No submission {_SUBMISSION_ID}.",
    ),
    409: (
        "The Idempotency-Key was used before with another request body.",
        "idempotency-key-reused",
        "Idempotency key reused with a different request",
        "This Idempotency-Key was used before with another body; use a new key.",
    ),
    413: (
        "A size limit was exceeded: body, part, number of attachments or total.",
        "payload-too-large",
        "Payload too large",
        "a part exceeds 524288000 bytes",
    ),
    415: (
        "The body is neither multipart/form-data nor application/json.",
        "unsupported-media-type",
        "Unsupported media type",
        "Send multipart/form-data or application/json.",
    ),
    422: (
        "The submission is readable but invalid: metadata, routing hint or hashes.",
        "data-hash-mismatch",
        "Data hash mismatch",
        "The SHA-512 of the data differs from contentStructure.data.hash.",
    ),
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses for these error statuses, each a problem document with an example."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        description, slug, title, detail = _PROBLEMS[status]
        example = {"type": problem_type(slug), "title": title, "status": status, "detail": detail}
        response: dict[str, Any] = {
            "description": description,
            "content": {
                PROBLEM_JSON: {
                    "schema": {"$ref": COMPONENT_REF.format(model="Problem")},
                    "example": example,
                }
            },
        }
        if status == 401:
            response["headers"] = {
                "WWW-Authenticate": {
                    "description": "the bearer challenge (RFC 6750)",
                    "schema": {"type": "string"},
                }
            }
        responses[status] = response
    return responses


def json_schema_for_openapi(model: type[BaseModel]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A model's JSON schema with references into ``components/schemas``, and those schemas.

    Pydantic nests sub-models under ``$defs`` with ``#/$defs/…`` references, which an
    OpenAPI document resolves from its own root, where there is no ``$defs``.
    """
    schema = model.model_json_schema(ref_template=COMPONENT_REF)
    definitions: dict[str, Any] = schema.pop("$defs", {})
    return schema, definitions


def install_openapi(app: FastAPI, definitions: dict[str, Any]) -> None:
    """Make ``app.openapi()`` carry ``definitions`` and the Problem schema, and only problems.

    FastAPI lists every extra response also as ``application/json`` and adds a ``422``
    ``HTTPValidationError`` to routes with parameters; neither is ever answered here.
    """
    generate = app.openapi
    problem_schema, problem_definitions = json_schema_for_openapi(Problem)
    extra = {**definitions, **problem_definitions, "Problem": problem_schema}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in extra.items():
            schemas.setdefault(name, schema)
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                _only_problems(operation["responses"])
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _only_problems(responses: dict[str, Any]) -> None:
    validation = responses.get("422", {}).get("content", {}).get("application/json", {})
    if "HTTPValidationError" in json.dumps(validation):
        del responses["422"]
    for response in responses.values():
        content = response.get("content", {})
        if PROBLEM_JSON in content:
            content.pop("application/json", None)


def submission_request_body(request_schema: dict[str, Any]) -> dict[str, Any]:
    """The request body of ``POST /v1/submissions`` (and ``/v1/validations``): the JSON form
    (``request_schema``) or multipart parts."""
    return {
        "required": True,
        "content": {
            "application/json": {"schema": request_schema, "example": JSON_REQUEST_EXAMPLE},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["metadata", "data"],
                    "properties": {
                        "metadata": {
                            "type": "string",
                            "description": "FIT-Connect metadata (JSON)",
                        },
                        "data": {"type": "string", "format": "binary"},
                        "attachment": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                        },
                        "routing": {"type": "string", "description": "routing hint (JSON)"},
                    },
                },
                "example": MULTIPART_REQUEST_EXAMPLE,
            },
        },
    }
