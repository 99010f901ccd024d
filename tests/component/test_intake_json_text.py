"""JSON that Python reads but that is no interoperable JSON text is refused (400), in both forms.

Found while fuzzing the intake: a lone surrogate escape (``"\\ud800"``) made the ledger
fail with a 500; ``NaN``, ``Infinity`` and ``1e400`` were recorded and passed on as
non-standard JSON to every later reader (relay, authorities).
"""

from __future__ import annotations

import json

import httpx
import pytest

from events.ledger import Ledger
from tests.support.factories import json_request, metadata_for, xdomea_sample
from tests.support.intake import assert_problem, multipart, submission_count
from tests.support.pipeline import auth

DATA = xdomea_sample()
NOT_JSON_TEXT = {
    "lone-surrogate": '"\\ud800"',
    "lone-low-surrogate": '"\\uDC00"',
    "nan": "NaN",
    "infinity": "-Infinity",
    "float-overflow": "1e400",
}


def _metadata_with(value: str) -> str:
    """Metadata for DATA with one extra member whose raw JSON text is ``value``."""
    document = json.dumps(metadata_for(DATA))
    return document.replace("{", '{"x": ' + value + ", ", 1)


@pytest.mark.parametrize("value", NOT_JSON_TEXT.values(), ids=NOT_JSON_TEXT.keys())
async def test_json_form(client: httpx.AsyncClient, ledger: Ledger, value: str) -> None:
    body = json.dumps(json_request(DATA)).replace(
        '"metadata": ' + json.dumps(metadata_for(DATA)), '"metadata": ' + _metadata_with(value)
    )
    assert value in body
    headers = auth() | {"Content-Type": "application/json"}
    answer = await client.post("/v1/submissions", content=body.encode(), headers=headers)
    assert_problem(answer, 400, "malformed-request")
    assert submission_count(ledger) == 0


@pytest.mark.parametrize("value", NOT_JSON_TEXT.values(), ids=NOT_JSON_TEXT.keys())
async def test_multipart_metadata(client: httpx.AsyncClient, ledger: Ledger, value: str) -> None:
    files = multipart(DATA)
    files[0] = ("metadata", (None, _metadata_with(value).encode(), "application/json"))
    answer = await client.post("/v1/submissions", files=files, headers=auth())
    assert_problem(answer, 400, "malformed-request")
    assert submission_count(ledger) == 0


async def test_a_surrogate_pair_is_text(client: httpx.AsyncClient, ledger: Ledger) -> None:
    files = multipart(DATA)
    files[0] = ("metadata", (None, _metadata_with('"\\ud83d\\ude00"').encode(), "application/json"))
    answer = await client.post("/v1/submissions", files=files, headers=auth())
    assert answer.status_code == 202, answer.text
    assert submission_count(ledger) == 1
