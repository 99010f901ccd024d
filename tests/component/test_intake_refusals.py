"""The portal HTTP API refuses what it must, with a problem document and nothing recorded."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from events.ledger import Ledger
from events.vault import Vault
from tests.support.factories import json_request, metadata_for, sha512, xdomea_sample
from tests.support.intake import (
    ATTACHMENTS,
    ApiClient,
    assert_problem,
    multipart,
    submission_count,
)
from tests.support.pipeline import auth

DATA = xdomea_sample()


def _json(**changes: Any) -> bytes:
    """A JSON-form request for DATA with some top-level members replaced."""
    return json.dumps({**json_request(DATA), **changes}).encode()


def _metadata(identifier: str | None = None, data_hash: str | None = None) -> dict[str, Any]:
    document = metadata_for(DATA)
    if identifier is not None:
        document["publicServiceType"]["identifier"] = identifier
    if data_hash is not None:
        document["contentStructure"]["data"]["hash"]["content"] = data_hash
    return document


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic dXNlcjpwYXNz", "Bearer wrong-token", "Bearer ", "token-of-portal-a"],
    ids=["missing", "basic", "wrong-token", "empty-token", "no-scheme"],
)
async def test_without_a_valid_token_nothing_is_received(
    client: httpx.AsyncClient, ledger: Ledger, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    answer = await client.post("/v1/submissions", json=json_request(DATA), headers=headers)
    assert_problem(answer, 401, "unauthorized")
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert submission_count(ledger) == 0
    status = await client.get(
        "/v1/submissions/00000000-0000-4000-8000-000000000000", headers=headers
    )
    assert_problem(status, 401, "unauthorized")


INVALID_JSON_REQUESTS = {
    "truncated-json": (b'{"metadata": ', 400, "malformed-request"),
    "deeply-nested-json": (b"[" * 100_000, 400, "malformed-request"),
    "not-an-object": (b"[]", 400, "malformed-request"),
    "metadata-null": (_json(metadata=None), 422, "invalid-metadata"),
    "metadata-missing": (json.dumps({"data": "PA=="}).encode(), 422, "invalid-metadata"),
    "leika-not-14-digits": (
        _json(metadata=_metadata(identifier="urn:de:fim:leika:leistung:123")),
        422,
        "invalid-metadata",
    ),
    "hash-not-sha512-hex": (_json(metadata=_metadata(data_hash="ABC")), 422, "invalid-metadata"),
    "data-missing": (json.dumps({"metadata": _metadata()}).encode(), 400, "malformed-request"),
    "data-not-base64": (_json(data="not base64!"), 400, "malformed-request"),
    "routing-ars-not-12-digits": (_json(routing={"ars": "123"}), 422, "invalid-routing-hint"),
    "data-hash-mismatch": (
        _json(metadata=_metadata(data_hash="a" * 128)),
        422,
        "data-hash-mismatch",
    ),
}


@pytest.mark.parametrize(
    ("body", "status", "slug"), INVALID_JSON_REQUESTS.values(), ids=INVALID_JSON_REQUESTS.keys()
)
async def test_invalid_json_submission_is_refused(
    client: httpx.AsyncClient, ledger: Ledger, body: bytes, status: int, slug: str
) -> None:
    answer = await client.post(
        "/v1/submissions", content=body, headers=auth() | {"Content-Type": "application/json"}
    )
    assert_problem(answer, status, slug)
    assert submission_count(ledger) == 0


def _attachment_case(case: str) -> dict[str, Any]:
    declared, sent = ATTACHMENTS, ATTACHMENTS
    if case == "missing":
        sent = ATTACHMENTS[:1]
    elif case == "undeclared":
        declared = ATTACHMENTS[:1]
    elif case == "hash-mismatch":
        sent = [ATTACHMENTS[0], (ATTACHMENTS[1][0], b"%PDF-1.7 something else\n")]
    body = json_request(DATA, attachments=sent)
    body["metadata"] = metadata_for(DATA, attachments=declared)
    return body


@pytest.mark.parametrize("case", ["missing", "undeclared", "hash-mismatch"])
async def test_json_attachments_must_match_the_metadata(
    client: httpx.AsyncClient, ledger: Ledger, case: str
) -> None:
    answer = await client.post("/v1/submissions", json=_attachment_case(case), headers=auth())
    problem = assert_problem(answer, 422, f"attachment-{case}")
    assert ATTACHMENTS[1][0] in problem["detail"]
    assert submission_count(ledger) == 0


async def test_json_attachment_sent_twice_is_refused(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    body = json_request(DATA, attachments=ATTACHMENTS[:1])
    body["attachments"].append(dict(body["attachments"][0]))
    answer = await client.post("/v1/submissions", json=body, headers=auth())
    assert_problem(answer, 400, "malformed-request")
    assert submission_count(ledger) == 0


async def test_multipart_attachment_with_other_content_is_missing_and_undeclared(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    sent = [ATTACHMENTS[0], (ATTACHMENTS[1][0], b"%PDF-1.7 something else\n")]
    files = multipart(DATA, attachments=sent, metadata=metadata_for(DATA, attachments=ATTACHMENTS))
    problem = assert_problem(
        await client.post("/v1/submissions", files=files, headers=auth()), 422, "invalid-submission"
    )
    types = sorted(error["type"].rsplit("/", 1)[1] for error in problem["errors"])
    assert types == ["attachment-missing", "attachment-undeclared"]
    assert submission_count(ledger) == 0


async def test_multipart_data_hash_mismatch_is_refused(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    files = multipart(DATA, metadata=_metadata(data_hash=sha512(b"other")))
    answer = await client.post("/v1/submissions", files=files, headers=auth())
    assert_problem(answer, 422, "data-hash-mismatch")
    assert submission_count(ledger) == 0


def _without(name: str) -> list[Any]:
    return [part for part in multipart(DATA) if part[0] != name]


INVALID_MULTIPART_PARTS = {
    "metadata-missing": _without("metadata"),
    "data-missing": _without("data"),
    "metadata-not-json": [
        ("metadata", (None, b"{oops", "application/json")),
        *_without("metadata"),
    ],
    "metadata-file-not-utf8": [
        ("metadata", ("metadata.json", b'{"\xff": 1}', "application/json")),
        *_without("metadata"),
    ],
    "data-not-a-file": [("data", (None, DATA, "application/xml")), *_without("data")],
}


@pytest.mark.parametrize(
    "files", INVALID_MULTIPART_PARTS.values(), ids=INVALID_MULTIPART_PARTS.keys()
)
async def test_malformed_multipart_is_refused(
    client: httpx.AsyncClient, ledger: Ledger, files: list[Any]
) -> None:
    answer = await client.post("/v1/submissions", files=files, headers=auth())
    assert_problem(answer, 400, "malformed-request")
    assert submission_count(ledger) == 0


@pytest.mark.parametrize(
    ("content_type", "status", "slug"),
    [
        ("multipart/form-data", 400, "malformed-request"),  # no boundary
        ("text/plain", 415, "unsupported-media-type"),
        ("application/json-seq", 415, "unsupported-media-type"),
        (None, 415, "unsupported-media-type"),
    ],
)
async def test_unreadable_body_types_are_refused(
    client: httpx.AsyncClient, ledger: Ledger, content_type: str | None, status: int, slug: str
) -> None:
    headers = auth() | ({"Content-Type": content_type} if content_type else {})
    body = json.dumps(json_request(DATA)).encode()
    answer = await client.post("/v1/submissions", content=body, headers=headers)
    assert_problem(answer, status, slug)
    assert submission_count(ledger) == 0


async def test_invalid_routing_hint_is_the_same_problem_in_both_forms(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    routing = {"postalCode": "5067"}
    as_json = await client.post(
        "/v1/submissions", json=json_request(DATA, routing=routing), headers=auth()
    )
    as_multipart = await client.post(
        "/v1/submissions", files=multipart(DATA, routing=routing), headers=auth()
    )
    assert_problem(as_json, 422, "invalid-routing-hint")
    assert_problem(as_multipart, 422, "invalid-routing-hint")
    assert submission_count(ledger) == 0


async def test_overlong_idempotency_key_is_refused(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    headers = auth() | {"Idempotency-Key": "k" * 256}
    answer = await client.post("/v1/submissions", json=json_request(DATA), headers=headers)
    assert_problem(answer, 400, "malformed-request")
    assert submission_count(ledger) == 0


async def test_multipart_part_over_the_limit_is_refused(
    api: ApiClient, ledger: Ledger, vault: Vault
) -> None:
    big = DATA * 2
    async with api(max_attachment_bytes=len(DATA)) as client:
        fits = await client.post("/v1/submissions", files=multipart(DATA), headers=auth())
        assert fits.status_code == 202
        for files in (multipart(big), multipart(DATA, attachments=[(ATTACHMENTS[0][0], big)])):
            answer = await client.post("/v1/submissions", files=files, headers=auth())
            assert_problem(answer, 413, "payload-too-large")
    assert submission_count(ledger) == 1
    # what was sealed of the refused ones is discarded: only the accepted one's group is left
    assert list(vault.blobs.groups()) == [fits.json()["submissionId"]]


async def test_multipart_metadata_file_over_the_limit_is_refused(
    api: ApiClient, ledger: Ledger
) -> None:
    document = json.dumps(metadata_for(DATA)).encode()
    files = [("metadata", ("metadata.json", document, "application/json")), *_without("metadata")]
    async with api(max_metadata_bytes=len(document)) as client:
        assert (
            await client.post("/v1/submissions", files=files, headers=auth())
        ).status_code == 202
        files[0] = ("metadata", ("metadata.json", document + b" ", "application/json"))
        answer = await client.post("/v1/submissions", files=files, headers=auth())
        assert_problem(answer, 413, "payload-too-large")
    assert submission_count(ledger) == 1


async def test_json_body_over_the_limit_is_refused(api: ApiClient, ledger: Ledger) -> None:
    body = json.dumps(json_request(DATA)).encode()
    async with api(max_json_body_bytes=len(body)) as client:
        headers = auth() | {"Content-Type": "application/json"}
        fits = await client.post("/v1/submissions", content=body, headers=headers)
        assert fits.status_code == 202
        answer = await client.post("/v1/submissions", content=body + b" ", headers=headers)
        assert_problem(answer, 413, "payload-too-large")
    assert submission_count(ledger) == 1


async def test_too_many_attachments_are_refused_in_both_forms(
    api: ApiClient, ledger: Ledger
) -> None:
    async with api(max_attachments=1) as client:
        body = json_request(DATA, attachments=ATTACHMENTS)
        answer = await client.post("/v1/submissions", json=body, headers=auth())
        assert_problem(answer, 413, "payload-too-large")
        files = multipart(DATA, attachments=ATTACHMENTS)
        answer = await client.post("/v1/submissions", files=files, headers=auth())
        assert_problem(answer, 413, "payload-too-large")
    assert submission_count(ledger) == 0


async def test_metadata_findings_are_listed_with_pointers_in_both_forms(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    document = _metadata(data_hash="ABC")
    document["contentStructure"]["data"]["submissionSchema"]["schemaUri"] = "not a uri"
    del document["contentStructure"]["attachments"]
    expected = {
        "/contentStructure/attachments": "required",
        "/contentStructure/data/hash/content": "pattern",
        "/contentStructure/data/submissionSchema/schemaUri": "format",
    }
    as_json = await client.post("/v1/submissions", json=_json_with(document), headers=auth())
    files = multipart(DATA, metadata=document)
    as_multipart = await client.post("/v1/submissions", files=files, headers=auth())
    for answer in (as_json, as_multipart):
        problem = assert_problem(answer, 422, "invalid-metadata")
        assert {e["pointer"]: e["keyword"] for e in problem["errors"]} == expected
    assert submission_count(ledger) == 0


def _json_with(metadata: dict[str, Any]) -> dict[str, Any]:
    return {**json_request(DATA), "metadata": metadata}
