"""The intake bounds the depth and size of every document it stores: a problem, never a 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from events.ledger import Ledger
from services.intake.limits import nesting_depth
from services.intake.settings import IntakeSettings
from tests.support.factories import json_request, metadata_for, xdomea_sample
from tests.support.intake import ApiClient, assert_problem, multipart, submission_count
from tests.support.pipeline import auth

DATA = xdomea_sample()
DEPTH = IntakeSettings().max_metadata_depth


def _nested(levels: int) -> Any:
    """``levels`` arrays inside each other (``[[[...]]]``), built without recursion."""
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


def _metadata_nesting(levels: int) -> dict[str, Any]:
    """Valid metadata whose ``publicServiceType`` carries a member nested ``levels`` deep."""
    document = metadata_for(DATA)
    document["publicServiceType"]["extra"] = _nested(levels)
    return document


def test_depth_is_measured_without_recursion() -> None:
    assert nesting_depth(_nested(100_000)) == 100_000
    assert nesting_depth({"a": [1, {"b": []}]}) == 4
    assert nesting_depth("text") == 0


@pytest.mark.parametrize(
    "levels",
    [DEPTH - 1, 900, 5000],
    ids=["just-over-the-limit", "below-the-json-parser-limit", "beyond-python-recursion"],
)
async def test_deeply_nested_metadata_is_refused_in_both_forms(
    client: httpx.AsyncClient, ledger: Ledger, levels: int
) -> None:
    metadata = _metadata_text(levels)
    if levels < 900:
        assert nesting_depth(json.loads(metadata)) == levels + 2 > DEPTH
    body = json.dumps(json_request(DATA) | {"metadata": MARKER}).encode()
    content = body.replace(json.dumps(MARKER).encode(), metadata)
    headers = auth() | {"Content-Type": "application/json"}
    answer = await client.post("/v1/submissions", content=content, headers=headers)
    _assert_refused(answer)
    files = multipart(DATA)
    files[0] = ("metadata", (None, metadata, "application/json"))
    _assert_refused(await client.post("/v1/submissions", files=files, headers=auth()))
    assert submission_count(ledger) == 0


MARKER = "__nested__"


def _metadata_text(levels: int) -> bytes:
    """Valid metadata as JSON text with a member nested ``levels`` deep (any depth)."""
    document = metadata_for(DATA)
    document["publicServiceType"]["extra"] = MARKER
    text = json.dumps(document).encode()
    return text.replace(json.dumps(MARKER).encode(), b"[" * levels + b"]" * levels)


def _assert_refused(answer: httpx.Response) -> None:
    """Refused with a problem: 422 past the bound, 400 where even the JSON parser gives up."""
    slug = {422: "too-deeply-nested", 400: "malformed-request"}.get(answer.status_code)
    assert slug is not None, answer.text
    assert_problem(answer, answer.status_code, slug)


async def test_metadata_within_the_depth_is_accepted(client: httpx.AsyncClient) -> None:
    document = _metadata_nesting(DEPTH - 2)  # metadata > publicServiceType > the member
    assert nesting_depth(document) == DEPTH
    body = json_request(DATA) | {"metadata": document}
    answer = await client.post("/v1/submissions", json=body, headers=auth())
    assert answer.status_code == 202, answer.text


async def test_metadata_over_its_size_is_refused_in_the_json_form(
    api: ApiClient, ledger: Ledger
) -> None:
    document = metadata_for(DATA)
    document["publicServiceType"]["name"] = "Bürgergeld " * 50
    stored = len(json.dumps(document, ensure_ascii=False).encode())
    async with api(max_metadata_bytes=stored) as client:
        body = json_request(DATA) | {"metadata": document}
        assert (await client.post("/v1/submissions", json=body, headers=auth())).status_code == 202
        document["publicServiceType"]["name"] += "!"
        body = json_request(DATA) | {"metadata": document}
        answer = await client.post("/v1/submissions", json=body, headers=auth())
        assert_problem(answer, 413, "payload-too-large")
    assert submission_count(ledger) == 1


async def test_a_deep_routing_hint_is_refused(client: httpx.AsyncClient, ledger: Ledger) -> None:
    body = json_request(DATA) | {"routing": {"ars": "053150000000", "x": _nested(DEPTH + 1)}}
    answer = await client.post("/v1/submissions", json=body, headers=auth())
    assert_problem(answer, 422, "too-deeply-nested")
    assert submission_count(ledger) == 0
