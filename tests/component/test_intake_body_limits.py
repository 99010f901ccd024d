"""The whole request body is bounded before any part is stored: declared or counted."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from events.ledger import Ledger
from events.vault import Vault
from services.intake.settings import IntakeSettings
from services.intake.upload import body_limit
from tests.support.factories import json_request, metadata_for, xdomea_sample
from tests.support.intake import ApiClient, assert_problem, submission_count
from tests.support.pipeline import auth
from tests.support.streaming import GeneratedContent, StreamedMultipart, StreamedPart

DATA = xdomea_sample()
LIMITS = {"max_total_bytes": 64 * 1024, "max_metadata_bytes": 4096, "max_attachments": 2}


def _body(attachment_size: int) -> StreamedMultipart:
    return StreamedMultipart(
        [
            StreamedPart("metadata", json.dumps(metadata_for(DATA)).encode(), "application/json"),
            StreamedPart("data", DATA, "application/xml", "antrag.xml"),
            StreamedPart("attachment", GeneratedContent(attachment_size), "application/pdf", "a"),
        ]
    )


def test_the_multipart_limit_leaves_room_for_parts_and_framing() -> None:
    settings = IntakeSettings.model_validate(LIMITS)
    limit = body_limit("multipart/form-data", settings)
    assert 64 * 1024 + 2 * 4096 < limit < 64 * 1024 + 2 * 4096 + 5 * 16 * 1024 + 1
    assert body_limit("application/json", settings) == settings.max_json_body_bytes


async def test_a_chunked_multipart_body_over_the_limit_is_refused(
    api: ApiClient, ledger: Ledger, vault: Vault
) -> None:
    body = _body(4 * 64 * 1024)
    async with api(**LIMITS) as client:
        answer = await client.post(
            "/v1/submissions",
            content=body.body(),  # no Content-Length: counted while it arrives
            headers=auth() | {"Content-Type": body.content_type},
        )
    assert_problem(answer, 413, "payload-too-large")
    assert submission_count(ledger) == 0
    assert list(vault.blobs.groups()) == []  # refused before the first part was sealed


async def test_a_declared_length_over_the_limit_is_refused(api: ApiClient, ledger: Ledger) -> None:
    async def nothing() -> AsyncIterator[bytes]:
        yield b""

    async with api(**LIMITS) as client:
        headers = auth() | {"Content-Type": "application/json", "Content-Length": "999999999999"}
        answer = await client.post("/v1/submissions", content=nothing(), headers=headers)
    assert_problem(answer, 413, "payload-too-large")
    assert submission_count(ledger) == 0


async def test_within_the_limits_it_is_received(api: ApiClient, ledger: Ledger) -> None:
    async with api(**LIMITS) as client:
        answer = await client.post("/v1/submissions", json=json_request(DATA), headers=auth())
    assert answer.status_code == 202, answer.text
    assert submission_count(ledger) == 1
