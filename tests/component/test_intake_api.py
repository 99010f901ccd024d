"""The portal HTTP API on a SQLite ledger: accepting, idempotency, reading, OpenAPI."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import httpx
import pytest

from events.dossier import Dossier
from events.ledger import Ledger
from events.vault import Vault
from tests.support.factories import json_request, sha512, xdomea_sample
from tests.support.intake import ATTACHMENTS, KOELN, assert_problem, multipart, submission_count
from tests.support.pipeline import auth


async def _post_json(
    client: httpx.AsyncClient,
    body: dict[str, Any],
    portal: str = "portal-a",
    key: str | None = None,
) -> httpx.Response:
    headers = auth(portal) | ({"Idempotency-Key": key} if key is not None else {})
    return await client.post("/v1/submissions", json=body, headers=headers)


def _assert_accepted(response: httpx.Response) -> UUID:
    assert response.status_code == 202, response.text
    body = response.json()
    submission_id = UUID(body["submissionId"])
    assert body["status"] == "received"
    assert response.headers["Location"] == f"/v1/submissions/{submission_id}"
    assert body["_links"] == {
        "self": {"href": f"/v1/submissions/{submission_id}"},
        "events": {"href": f"/v1/submissions/{submission_id}/events"},
    }
    return submission_id


def _assert_recorded(ledger: Ledger, vault: Vault, submission_id: UUID, data: bytes) -> None:
    """The ledger holds exactly one Received with the parts' hashes and no content; the
    parts and the metadata are sealed in the vault, blobs named without their hash."""
    trail = ledger.trail(submission_id)
    assert [entry.event for entry in trail] == ["Received"]
    received = trail[0].data
    assert received["portal_id"] == "portal-a"
    assert received["data"]["sha512"] == sha512(data)
    assert received["data"]["size"] == len(data)
    assert not {"metadata", "routing_hint", "idempotency_key"} & received.keys()
    assert [(a["sha512"], a["size"]) for a in received["attachments"]] == [
        (sha512(content), len(content)) for _, content in sorted(ATTACHMENTS)
    ]
    submission = ledger.get_submission(submission_id)
    dossier = Dossier.of(vault, submission)
    assert dossier.routing == KOELN
    assert [a.part_id for a in dossier.attachments] == sorted(a for a, _ in ATTACHMENTS)
    parts = [received["data"], *received["attachments"]]
    contents = [data, *(content for _, content in sorted(ATTACHMENTS))]
    for part, content in zip(parts, contents, strict=True):
        assert sha512(content) not in part["blob"]
        assert vault.read(submission_id, part["blob"]) == content
        assert content not in vault.blobs.read(part["blob"])  # sealed at rest


async def test_json_submission_is_accepted_and_recorded(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    data = xdomea_sample()
    body = json_request(data, attachments=ATTACHMENTS, routing=KOELN)
    submission_id = _assert_accepted(await _post_json(client, body))
    _assert_recorded(ledger, vault, submission_id, data)

    status = await client.get(f"/v1/submissions/{submission_id}", headers=auth())
    assert status.status_code == 200
    assert status.json()["status"] == "received"
    assert status.json()["serviceIdentifier"] == body["metadata"]["publicServiceType"]["identifier"]


async def test_multipart_submission_is_accepted_and_recorded(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    data = xdomea_sample()
    files = multipart(data, attachments=ATTACHMENTS, routing=KOELN)
    response = await client.post("/v1/submissions", files=files, headers=auth())
    submission_id = _assert_accepted(response)
    _assert_recorded(ledger, vault, submission_id, data)


async def test_multipart_accepts_json_parts_sent_as_files(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    data = xdomea_sample()
    files = [
        (name, (f"{name}.json", part[1], part[2]) if part[0] is None else part)
        for name, part in multipart(data, attachments=ATTACHMENTS, routing=KOELN)
    ]
    assert all(filename for _, (filename, _, _) in files)
    response = await client.post("/v1/submissions", files=files, headers=auth())
    _assert_recorded(ledger, vault, _assert_accepted(response), data)


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON"])
async def test_json_media_type_is_matched_case_insensitively(
    client: httpx.AsyncClient, ledger: Ledger, content_type: str
) -> None:
    body = httpx.Request("POST", "/", json=json_request(xdomea_sample())).content
    response = await client.post(
        "/v1/submissions", content=body, headers=auth() | {"Content-Type": content_type}
    )
    _assert_accepted(response)
    assert submission_count(ledger) == 1


async def test_same_key_and_body_gives_the_same_submission_once(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    body = json_request(xdomea_sample(), routing=KOELN)
    first = _assert_accepted(await _post_json(client, body, key="retry-1"))
    again = _assert_accepted(await _post_json(client, body, key="retry-1"))
    assert again == first
    assert list(ledger.submission_ids()) == [first]
    assert len(ledger.trail(first)) == 1


async def test_same_key_and_body_posted_concurrently_records_one_submission(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    body = json_request(xdomea_sample(), attachments=ATTACHMENTS, routing=KOELN)
    answers = await asyncio.gather(*(_post_json(client, body, key="burst") for _ in range(10)))
    ids = {_assert_accepted(answer) for answer in answers}
    assert len(ids) == 1
    assert list(ledger.submission_ids()) == list(ids)
    assert [entry.event for entry in ledger.trail(ids.pop())] == ["Received"]


async def test_same_key_with_another_body_is_a_conflict(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    data = xdomea_sample()
    first = _assert_accepted(await _post_json(client, json_request(data), key="k"))
    other = json_request(data + b"\n")
    assert_problem(await _post_json(client, other, key="k"), 409, "idempotency-key-reused")
    assert list(ledger.submission_ids()) == [first]
    assert ledger.trail(first)[0].data["data"]["sha512"] == sha512(data)


async def test_without_key_every_post_is_a_new_submission(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    body = json_request(xdomea_sample())
    first = _assert_accepted(await _post_json(client, body))
    second = _assert_accepted(await _post_json(client, body))
    assert first != second
    assert set(ledger.submission_ids()) == {first, second}


async def test_idempotency_keys_are_per_portal(client: httpx.AsyncClient, ledger: Ledger) -> None:
    body = json_request(xdomea_sample())
    of_a = _assert_accepted(await _post_json(client, body, portal="portal-a", key="shared"))
    of_b = _assert_accepted(await _post_json(client, body, portal="portal-b", key="shared"))
    assert of_a != of_b
    assert set(ledger.submission_ids()) == {of_a, of_b}
    assert ledger.get_submission(of_b).portal_id == "portal-b"


async def test_another_portals_submission_is_not_found(client: httpx.AsyncClient) -> None:
    submission_id = _assert_accepted(await _post_json(client, json_request(xdomea_sample())))
    unknown = UUID("00000000-0000-4000-8000-000000000000")
    for path in (f"/v1/submissions/{submission_id}", f"/v1/submissions/{submission_id}/events"):
        assert (await client.get(path, headers=auth("portal-a"))).status_code == 200
        foreign = assert_problem(
            await client.get(path, headers=auth("portal-b")), 404, "submission-not-found"
        )
        missing = assert_problem(
            await client.get(path.replace(str(submission_id), str(unknown)), headers=auth()),
            404,
            "submission-not-found",
        )
        assert foreign["title"] == missing["title"]


async def test_events_are_paged(client: httpx.AsyncClient, ledger: Ledger) -> None:
    submission_id = _assert_accepted(await _post_json(client, json_request(xdomea_sample())))
    ledger.execute(submission_id, lambda s: s.validate("catalog-1", "urn:x"))
    ledger.execute(submission_id, lambda s: s.route("jc", "053150000000", "05315", "dir-1"))
    ledger.execute(submission_id, lambda s: s.dispatch("d-1", "jc", "t", {"secret": "x"}))
    path = f"/v1/submissions/{submission_id}/events"

    everything = (await client.get(path, headers=auth())).json()
    assert (everything["offset"], everything["count"], everything["totalCount"]) == (0, 4, 4)
    events = everything["events"]
    assert [e["event"] for e in events] == ["Received", "Validated", "Routed", "Dispatched"]
    assert [e["prevHash"] for e in events[1:]] == [e["hash"] for e in events[:-1]]
    assert "request_digest" not in events[0]["data"]
    assert "envelope" not in events[3]["data"]

    page = (await client.get(path, params={"offset": 1, "limit": 2}, headers=auth())).json()
    assert (page["offset"], page["count"], page["totalCount"]) == (1, 2, 4)
    assert [e["version"] for e in page["events"]] == [2, 3]

    beyond = (await client.get(path, params={"offset": 10}, headers=auth())).json()
    assert (beyond["offset"], beyond["count"], beyond["totalCount"]) == (10, 0, 4)
    assert beyond["events"] == []

    assert_problem(
        await client.get(path, params={"limit": 0}, headers=auth()), 400, "malformed-request"
    )


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


async def test_openapi_describes_both_request_forms(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    post = document["paths"]["/v1/submissions"]["post"]
    content = post["requestBody"]["content"]
    assert set(content) == {"application/json", "multipart/form-data"}
    assert content["multipart/form-data"]["schema"]["required"] == ["metadata", "data"]
    assert "202" in post["responses"]
    for ref in _refs(document):  # every reference resolves inside the document
        target: Any = document
        for step in ref.removeprefix("#/").split("/"):
            assert step in target, f"unresolvable $ref {ref}"
            target = target[step]
