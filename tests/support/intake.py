"""Helpers for tests of the intake's HTTP API: request bodies and problem checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from contracts.problems import PROBLEM_BASE
from events.ledger import Ledger
from tests.support.factories import metadata_for

ATTACHMENTS = [
    ("3f1c9a52-7a0e-4c55-9a43-1b2f3e4d5a61", b"%PDF-1.7 Mietvertrag (synthetic)\n"),
    ("8b0d2e71-5c44-4e2a-b1f6-0c9d8e7f6a52", b"%PDF-1.7 Kontoauszug (synthetic)\n"),
]
"""Two attachments (attachmentId, content) with distinct contents."""

KOELN = {"ars": "053150000000"}

ApiClient = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]
"""``api(**intake setting overrides)``: a client of a freshly created intake app."""

MultipartFile = tuple[str, tuple[str | None, bytes, str]]


def multipart(
    data: bytes,
    *,
    attachments: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
    routing: dict[str, str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> list[MultipartFile]:
    """The multipart form of a submission, as ``files=`` for httpx (JSON parts unnamed)."""
    document = metadata if metadata is not None else metadata_for(data, attachments=attachments)
    parts: list[MultipartFile] = [
        ("metadata", (None, json.dumps(document).encode(), "application/json")),
        ("data", ("antrag.xml", data, "application/xml")),
    ]
    parts.extend(
        ("attachment", (f"{attachment_id}.pdf", content, "application/pdf"))
        for attachment_id, content in attachments
    )
    if routing is not None:
        parts.append(("routing", (None, json.dumps(routing).encode(), "application/json")))
    return parts


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """The response is an RFC 7807 problem with this status and type; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Traceback" not in response.text
    assert 'File "' not in response.text
    problem: dict[str, Any] = response.json()
    assert problem["type"] == PROBLEM_BASE + slug, problem
    assert problem["status"] == status
    assert problem["title"]
    return problem


def submission_count(ledger: Ledger) -> int:
    return len(list(ledger.submission_ids()))
