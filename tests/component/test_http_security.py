"""Security headers, the self-made docs page and bounded identifiers on the HTTP app."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from events.ledger import Ledger
from events.vault import Vault
from services.ops.app.bootstrap import Core
from services.ops.console.mount import STATIC
from tests.support.factories import json_request, xdomea_sample
from tests.support.intake import assert_problem, submission_count
from tests.support.pipeline import auth, intake_settings, wiring

OPERATOR_TOKEN = "token-of-erika"
DATA = xdomea_sample()


@pytest.fixture
async def app_client(
    ledger: Ledger, vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """The whole HTTP app as ``amtsweg run`` serves it: intake, deliveries, ops, console."""
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    digest = hashlib.sha256(OPERATOR_TOKEN.encode()).hexdigest()
    monkeypatch.setenv("AMTSWEG_OPERATOR_TOKENS", json.dumps({"erika": digest}))
    app = wiring(intake_settings(port=0), Core(ledger, vault)).http_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


ROUTES = {
    "problem": ("get", "/v1/submissions/00000000-0000-4000-8000-000000000000"),
    "unknown-path": ("get", "/nowhere"),
    "openapi": ("get", "/openapi.json"),
    "docs": ("get", "/docs"),
    "console-page": ("get", "/ops/console/"),
    "console-script": ("get", "/ops/console/console.js"),
    "ops-api": ("get", "/ops/submissions"),
    "delivery": ("get", "/v1/deliveries/unknown"),
    "healthz": ("get", "/healthz"),
}


@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
async def test_every_response_carries_the_security_headers(
    app_client: httpx.AsyncClient, route: tuple[str, str]
) -> None:
    method, path = route
    answer = await app_client.request(method, path)
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    policy = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


async def test_answers_with_data_are_not_cached_but_the_console_files_may_be(
    app_client: httpx.AsyncClient,
) -> None:
    problem = await app_client.get("/v1/submissions/00000000-0000-4000-8000-000000000000")
    assert problem.headers["cache-control"] == "no-store"
    assert (await app_client.get("/ops/submissions")).headers["cache-control"] == "no-store"
    assert "no-store" not in (await app_client.get("/ops/console/console.css")).headers.get(
        "cache-control", ""
    )


async def test_the_docs_page_is_ours_with_no_script_at_all(app_client: httpx.AsyncClient) -> None:
    page = await app_client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<script" not in page.text.lower()
    assert "/v1/submissions" in page.text
    assert re.search(r"(src|href)=\"https?://", page.text) is None
    assert (await app_client.get("/docs/docs.css")).status_code == 200
    assert (await app_client.get("/redoc")).status_code == 404


def test_the_console_loads_only_its_own_files_and_nothing_inline() -> None:
    page = (STATIC / "index.html").read_text()
    script = (STATIC / "console.js").read_text()
    assert re.search(r"(src|href)=\"(https?:)?//", page) is None
    assert re.findall(r"<script[^>]*>", page) == ['<script src="console.js">']
    assert "<style" not in page
    assert " style=" not in page
    assert re.search(r"\son[a-z]+=", page) is None  # no inline event handlers
    assert 'setAttribute("style"' not in script
    assert "eval(" not in script
    assert "new Function" not in script


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.encode(), value.encode()) for name, value in headers.items()]


UNFIT_CORRELATION_IDS = {
    "too-long": "c" * 129,
    "newline": "abc\ndef",
    "control": "abc\x1bdef",
    "not-ascii": "korrelation-ä",
}


@pytest.mark.parametrize("value", UNFIT_CORRELATION_IDS.values(), ids=UNFIT_CORRELATION_IDS.keys())
async def test_an_unfit_correlation_id_is_refused_and_nothing_recorded(
    client: httpx.AsyncClient, ledger: Ledger, value: str
) -> None:
    headers = [*_encoded(auth()), (b"X-Correlation-Id", value.encode())]
    answer = await client.post("/v1/submissions", json=json_request(DATA), headers=headers)
    assert_problem(answer, 400, "malformed-request")
    assert submission_count(ledger) == 0


async def test_a_fit_correlation_id_is_recorded(client: httpx.AsyncClient, ledger: Ledger) -> None:
    headers = {**auth(), "X-Correlation-Id": "portal-req:2026-12-02/0042"}
    answer = await client.post("/v1/submissions", json=json_request(DATA), headers=headers)
    assert answer.status_code == 202
    submission = ledger.get_submission(UUID(answer.json()["submissionId"]))
    assert submission.correlation_id == "portal-req:2026-12-02/0042"


@pytest.mark.parametrize("value", ["k" * 256, "key\x07bell", "schlüssel"])
async def test_an_unfit_idempotency_key_is_refused(
    client: httpx.AsyncClient, ledger: Ledger, value: str
) -> None:
    headers = [*_encoded(auth()), (b"Idempotency-Key", value.encode())]
    answer = await client.post("/v1/submissions", json=json_request(DATA), headers=headers)
    assert_problem(answer, 400, "malformed-request")
    assert submission_count(ledger) == 0


async def test_a_purpose_with_control_characters_is_refused(
    app_client: httpx.AsyncClient,
) -> None:
    operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    answer = await app_client.get(
        "/ops/submissions", params={"purpose": "line one\nforged line"}, headers=operator
    )
    assert_problem(answer, 400, "malformed-request")
