"""``POST /v1/validations`` on the HTTP app as ``amtsweg run`` serves it: the pipeline's
validation and routing decisions, answered at once, with nothing stored or logged."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from structlog.testing import capture_logs

from contracts.assurance import EIDAS_LOW, AssuranceLevel, PresentedLevel
from events.ledger import Ledger
from events.vault import Vault
from services.ops.app.bootstrap import Core
from services.validation.decide import Declared, Invalid, decide
from tests.support.factories import BUERGERGELD, XDOMEA_URI, json_request, xdomea_sample
from tests.support.intake import ATTACHMENTS, KOELN, assert_problem, multipart, submission_count
from tests.support.pipeline import auth, intake_settings, wiring
from tests.support.validation import bundled_catalog

DATA = xdomea_sample()


@pytest.fixture
async def client(
    ledger: Ledger, vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    app = wiring(intake_settings(port=0), Core(ledger, vault)).http_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def _files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


async def test_a_valid_submission_is_answered_with_where_it_would_go_and_nothing_is_kept(
    client: httpx.AsyncClient, ledger: Ledger, tmp_path: Path
) -> None:
    before = _files(tmp_path / "vault")
    with capture_logs() as logs:
        answer = await client.post(
            "/v1/validations", headers=auth(), files=multipart(DATA, routing=KOELN)
        )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["valid"] is True
    assert body["schemaUri"] == XDOMEA_URI
    assert body["catalogVersion"]
    assert body["directoryVersion"]
    assert body["routing"]["outcome"] == "routed"
    assert body["routing"]["authorityId"] == "jobcenter-koeln"
    assert body["routing"]["authorityName"] == "Jobcenter Köln"
    assert submission_count(ledger) == 0
    assert _files(tmp_path / "vault") == before
    checked = [line for line in logs if line["event"] == "intake.validation_checked"]
    assert [line["outcome"] for line in checked] == ["valid"]
    assert set(checked[0]) <= {
        "event",
        "log_level",
        "portal_id",
        "outcome",
        "routed",
        "catalog_version",
    }


async def test_the_json_form_is_checked_the_same_way(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/v1/validations", headers=auth(), json=json_request(DATA, routing=KOELN)
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["routing"]["authorityId"] == "jobcenter-koeln"


async def test_an_invalid_document_gets_the_problems_the_pipeline_would_record(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    broken = DATA.replace(b"<xdomea:Kopf>", b"<xdomea:Kopfzeile>", 1).replace(
        b"</xdomea:Kopf>", b"</xdomea:Kopfzeile>", 1
    )
    assert broken != DATA

    answer = await client.post(
        "/v1/validations", headers=auth(), files=multipart(broken, routing=KOELN)
    )

    assert answer.status_code == 422, answer.text
    pipeline = decide(
        bundled_catalog(),
        Declared(
            BUERGERGELD,
            XDOMEA_URI,
            "application/xml",
            received_at=datetime.now(UTC),
            assurance=PresentedLevel(AssuranceLevel.SUBSTANTIAL),
        ),
        broken,
    )
    assert isinstance(pipeline, Invalid)
    expected = [p.model_dump(exclude_none=True) for p in pipeline.problems]
    body = answer.json()
    got = body.get("errors", [body])
    assert [(p["type"], p.get("location")) for p in got] == [
        (p["type"], p.get("location")) for p in expected
    ]
    assert submission_count(ledger) == 0


async def test_an_assurance_level_below_the_services_is_the_pipelines_problem(
    client: httpx.AsyncClient,
) -> None:
    requests = {
        "assurance-level-too-low": json_request(DATA, routing=KOELN, assurance=EIDAS_LOW),
        "assurance-level-missing": json_request(DATA, routing=KOELN, assurance=None),
    }

    for slug, request in requests.items():
        answer = await client.post("/v1/validations", headers=auth(), json=request)
        assert answer.status_code == 422, answer.text
        problems = answer.json().get("errors", [answer.json()])
        assert [p["type"].rsplit("/", 1)[1] for p in problems] == [slug]
        assert "'substantial'" in problems[0]["detail"]


async def test_a_wrong_data_hash_is_the_intakes_problem(client: httpx.AsyncClient) -> None:
    request = json_request(DATA)
    request["data"] = base64.b64encode(DATA + b" ").decode()

    answer = await client.post("/v1/validations", headers=auth(), json=request)

    assert_problem(answer, 422, "data-hash-mismatch")


async def test_attachments_declared_but_not_sent_yet_are_no_problem_sent_ones_are_checked(
    client: httpx.AsyncClient,
) -> None:
    request = json_request(DATA, routing=KOELN, attachments=ATTACHMENTS)
    later = dict(request, attachments=request["attachments"][:1])
    wrong = dict(
        request,
        attachments=[{**request["attachments"][0], "content": base64.b64encode(b"x").decode()}],
    )

    not_yet = await client.post("/v1/validations", headers=auth(), json=later)
    mismatch = await client.post("/v1/validations", headers=auth(), json=wrong)

    assert not_yet.status_code == 200, not_yet.text
    assert_problem(mismatch, 422, "attachment-hash-mismatch")


async def test_a_region_nobody_serves_is_valid_but_unroutable(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/v1/validations", headers=auth(), files=multipart(DATA, routing={"ars": "059999999999"})
    )

    assert answer.status_code == 200, answer.text
    routing = answer.json()["routing"]
    assert routing["outcome"] == "unroutable"
    assert routing["reason"]
    assert routing["detail"]


async def test_without_a_portal_token_nothing_is_checked(client: httpx.AsyncClient) -> None:
    answer = await client.post("/v1/validations", files=multipart(DATA))

    assert_problem(answer, 401, "unauthorized")
