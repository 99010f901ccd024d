"""Documents handed in later over HTTP: recorded once, refused with nothing recorded."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from typer.testing import CliRunner

from events.case import ReplyKind
from events.ledger import Ledger
from events.lifecycle import Status
from events.submission import Submission
from events.vault import Vault
from services.ops.app.bootstrap import Core
from services.ops.cli.main import app as cli
from tests.support.factories import sealed_submission
from tests.support.pipeline import auth, intake_settings, wiring

DATA = b"<antrag/>"
PDF = b"%PDF-1.7 Lohnabrechnung (synthetic) " * 20
REQUEST = "request-payslip-1"


def _document(raw: bytes = PDF, **overrides: Any) -> dict[str, Any]:
    document = {
        "attachmentId": "payslip-2026-01",
        "mimeType": "application/pdf",
        "filename": "Lohnabrechnung Januar.pdf",
        "hash": {"type": "sha512", "content": hashlib.sha512(raw).hexdigest()},
        "content": base64.b64encode(raw).decode(),
    }
    return document | overrides


def _body(*documents: dict[str, Any], answers: str | None = REQUEST) -> dict[str, Any]:
    return {
        "answers": answers,
        "note": "Die fehlende Lohnabrechnung (synthetic)",
        "attachments": list(documents or [_document()]),
    }


def _case(ledger: Ledger, vault: Vault, *, status: Status = Status.DISPATCHED) -> Submission:
    """portal-a's submission, delivered to Köln, with an open request for documents."""
    submission = sealed_submission(vault, DATA, chain=ledger.chain_keys)
    if status is Status.REJECTED:
        submission.reject("cat", [{"type": "x"}])
        ledger.save(submission)
        return submission
    submission.validate("cat", "u")
    submission.route("jobcenter-koeln", "053150000000", "05315", "dir")
    submission.dispatch("d-1", "jobcenter-koeln", "amtsweg.delivery.jobcenter-koeln", {})
    submission.reply(
        REQUEST,
        kind=ReplyKind.REQUEST,
        authority_id="jobcenter-koeln",
        delivery_id="d-1",
        dossier=f"{submission.id}/{'0' * 32}",
        parts=[],
        request_digest="r" * 64,
        due="2026-12-31T00:00:00+00:00",
    )
    ledger.save(submission)
    return submission


def _blobs(vault: Vault, submission_id: UUID) -> int:
    folder = vault.blobs.path(f"{submission_id}/{'0' * 32}").parent  # type: ignore[attr-defined]
    return len(list(folder.iterdir())) if folder.exists() else 0


@pytest.fixture
async def client(
    ledger: Ledger, vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AMTSWEG_DEVELOPMENT", "1")
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    app = wiring(intake_settings(port=0), Core(ledger, vault)).http_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def _url(submission: Submission) -> str:
    return f"/v1/submissions/{submission.id}/supplements"


async def test_a_supplement_is_recorded_sealed_and_confirmed(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault, tmp_path: Path
) -> None:
    case = _case(ledger, vault)
    headers = auth() | {"Idempotency-Key": "payslip-1"}
    posted = await client.post(_url(case), json=_body(), headers=headers)
    assert posted.status_code == 202, posted.text
    answer = posted.json()
    sid = answer["supplementId"]
    assert answer["status"] == "received"
    assert answer["_links"]["self"]["href"] == f"{_url(case)}/{sid}"

    recorded = ledger.get_submission(case.id)
    supplement = recorded.supplements[sid]
    assert supplement.answers == REQUEST
    assert recorded.replies[REQUEST].answered_by == sid
    (part,) = supplement.parts
    assert (part["partId"], part["sha512"], part["size"]) == (
        "payslip-2026-01",
        hashlib.sha512(PDF).hexdigest(),
        len(PDF),
    )
    assert vault.read(case.id, str(part["blob"])) == PDF
    entry = ledger.trail(case.id)[-1]
    assert entry.event == "SupplementReceived"
    assert "Lohnabrechnung" not in json.dumps(entry.data)  # no file name, no note in the ledger
    dossier = vault.read_document(case.id, entry.data["dossier"])
    assert dossier["note"] == "Die fehlende Lohnabrechnung (synthetic)"
    assert dossier["attachments"] == [
        {
            "attachmentId": "payslip-2026-01",
            "mimeType": "application/pdf",
            "filename": "Lohnabrechnung Januar.pdf",
        }
    ]

    status = await client.get(answer["_links"]["self"]["href"], headers=auth())
    assert status.status_code == 200
    assert status.json()["status"] == "received"
    assert status.json()["parts"] == [
        {"partId": "payslip-2026-01", "sha512": hashlib.sha512(PDF).hexdigest(), "size": len(PDF)}
    ]
    assert status.json()["caseId"] == recorded.case_id

    confirmation = await client.get(answer["_links"]["confirmation"]["href"], headers=auth())
    assert confirmation.status_code == 200
    assert confirmation.headers["content-type"].startswith("application/jose")
    (tmp_path / "receipt.jws").write_text(confirmation.text)
    (tmp_path / "keys.json").write_text((await client.get("/v1/keys")).text)
    result = CliRunner().invoke(
        cli,
        [
            "portal",
            "verify-receipt",
            str(tmp_path / "receipt.jws"),
            "--keys",
            str(tmp_path / "keys.json"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    claims = json.loads(result.output)["claims"]
    assert claims["supplementId"] == sid
    assert claims["answers"] == REQUEST
    assert "data" not in claims
    assert claims["attachments"] == [{"sha512": hashlib.sha512(PDF).hexdigest(), "size": len(PDF)}]
    assert claims["received"] == {"version": entry.version, "hash": entry.hash}


async def test_the_same_key_and_body_answer_the_same_supplement(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    case = _case(ledger, vault)
    headers = auth() | {"Idempotency-Key": "k-1"}
    first = await client.post(_url(case), json=_body(), headers=headers)
    blobs = _blobs(vault, case.id)
    again = await client.post(_url(case), json=_body(), headers=headers)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["supplementId"] == first.json()["supplementId"]
    assert len(ledger.get_submission(case.id).supplements) == 1
    assert _blobs(vault, case.id) == blobs  # nothing sealed for the retry

    other = _body(_document(b"%PDF another payslip"), answers=None)
    conflict = await client.post(_url(case), json=other, headers=headers)
    assert conflict.status_code == 409
    assert conflict.json()["type"].endswith("supplement-conflict")
    assert len(ledger.get_submission(case.id).supplements) == 1


async def test_without_a_key_each_post_is_a_new_supplement(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    case = _case(ledger, vault)
    first = await client.post(_url(case), json=_body(answers=None), headers=auth())
    second = await client.post(_url(case), json=_body(answers=None), headers=auth())
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["supplementId"] != second.json()["supplementId"]


async def test_a_five_megabyte_document_is_taken(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    case = _case(ledger, vault)
    scan = bytes(range(256)) * (5 * 1024 * 1024 // 256)
    body = _body(_document(scan, mimeType="image/tiff", attachmentId="scan"), answers=None)
    posted = await client.post(_url(case), json=body, headers=auth())
    assert posted.status_code == 202, posted.text
    (part,) = ledger.get_submission(case.id).supplements[posted.json()["supplementId"]].parts
    assert part["size"] == len(scan)
    assert vault.read(case.id, str(part["blob"])) == scan


def _refusals() -> list[tuple[str, dict[str, Any], int, str]]:
    wrong_hash = _document(hash={"type": "sha512", "content": "0" * 128})
    return [
        ("wrong hash", _body(wrong_hash), 422, "hash-mismatch"),
        ("bad media type", _body(_document(mimeType="application/x-msdownload")), 422, "media"),
        ("not base64", _body(_document(content="%%%not-base64%%%")), 400, "malformed-request"),
        ("unknown request", _body(answers="no-such-request"), 422, "request-not-found"),
        ("path in the id", _body(_document(attachmentId="../etc")), 400, "malformed-request"),
    ]


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [case[1:] for case in _refusals()],
    ids=[case[0] for case in _refusals()],
)
async def test_a_bad_supplement_records_nothing(
    client: httpx.AsyncClient,
    ledger: Ledger,
    vault: Vault,
    body: dict[str, Any],
    status: int,
    slug: str,
) -> None:
    case = _case(ledger, vault)
    blobs = _blobs(vault, case.id)
    answer = await client.post(_url(case), json=body, headers=auth())
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert slug in answer.json()["type"]
    assert ledger.get_submission(case.id).version == case.version
    assert _blobs(vault, case.id) == blobs


async def test_an_oversize_document_records_nothing(
    ledger: Ledger, vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AMTSWEG_DEVELOPMENT", "1")
    settings = intake_settings(port=0).model_copy(update={"max_attachment_bytes": 1000})
    app = wiring(settings, Core(ledger, vault)).http_app()
    case = _case(ledger, vault)
    blobs = _blobs(vault, case.id)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        answer = await http.post(_url(case), json=_body(_document(b"x" * 1001)), headers=auth())
    assert answer.status_code == 413
    assert answer.json()["type"].endswith("part-too-large")
    assert ledger.get_submission(case.id).version == case.version
    assert _blobs(vault, case.id) == blobs


async def test_another_portal_finds_no_submission(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    case = _case(ledger, vault)
    answer = await client.post(_url(case), json=_body(), headers=auth("portal-b"))
    assert answer.status_code == 404
    assert ledger.get_submission(case.id).version == case.version
    mine = await client.post(_url(case), json=_body(), headers=auth())
    sid = mine.json()["supplementId"]
    for path in (f"{_url(case)}/{sid}", f"{_url(case)}/{sid}/confirmation"):
        assert (await client.get(path, headers=auth("portal-b"))).status_code == 404


async def test_a_rejected_case_takes_no_documents(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    case = _case(ledger, vault, status=Status.REJECTED)
    answer = await client.post(_url(case), json=_body(answers=None), headers=auth())
    assert answer.status_code == 409
    assert answer.json()["type"].endswith("not-delivered")
    assert ledger.get_submission(case.id).version == case.version


async def test_an_erased_case_takes_no_documents(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    case = _case(ledger, vault)
    vault.erase(case.id)
    ledger.execute(
        case.id,
        lambda s: s.erase(
            by="retention:test", rule=None, legal_basis="test", reason="test", destroyed={}
        ),
    )
    erased = ledger.get_submission(case.id)
    answer = await client.post(_url(case), json=_body(), headers=auth())
    assert answer.status_code == 410
    assert answer.json()["type"].endswith("content-erased")
    assert ledger.get_submission(case.id).version == erased.version


async def test_an_answered_request_is_not_answered_twice(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    case = _case(ledger, vault)
    first = await client.post(_url(case), json=_body(), headers=auth())
    assert first.status_code == 202
    version = ledger.get_submission(case.id).version
    blobs = _blobs(vault, case.id)
    second = await client.post(_url(case), json=_body(_document(b"%PDF second")), headers=auth())
    assert second.status_code == 409
    assert second.json()["type"].endswith("request-answered")
    assert ledger.get_submission(case.id).version == version
    assert _blobs(vault, case.id) == blobs


async def test_an_unknown_supplement_is_not_found(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    case = _case(ledger, vault)
    answer = await client.get(f"{_url(case)}/nothing-here", headers=auth())
    assert answer.status_code == 404
    assert answer.json()["type"].endswith("supplement-not-found")
