"""Operators scoped to tenants in the ops API: what is out of scope does not exist."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from events.ledger import Ledger
from events.parking import Parked, parking_lot
from events.submission import Submission
from events.vault import Vault
from services.ops.app.bootstrap import Core
from tests.support.factories import new_submission
from tests.support.pipeline import intake_settings, wiring

KOELN, DESSAU = "053150000000", "150010000000"
OPERATORS = {"erika": ["st"], "max": ["nw"], "root": ["*"]}
TENANTS = {
    "tenants": [
        {"id": "st", "name": "Sachsen-Anhalt", "portals": ["portal-b"], "states": ["15"]},
        {"id": "nw", "name": "Nordrhein-Westfalen", "states": ["05"]},
    ]
}


def _bearer(operator: str) -> dict[str, str]:
    return {"Authorization": f"Bearer token-of-{operator}"}


@pytest.fixture
async def ops(
    ledger: Ledger, vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("AMTSWEG_DEVELOPMENT", raising=False)
    tokens = {
        name: hashlib.sha256(f"token-of-{name}".encode()).hexdigest()
        for name in (*OPERATORS, "otto")
    }
    tenants = tmp_path / "tenants.json"
    tenants.write_text(json.dumps(TENANTS))
    monkeypatch.setenv("AMTSWEG_OPERATOR_TOKENS", json.dumps(tokens))
    monkeypatch.setenv("AMTSWEG_OPERATOR_SCOPES", json.dumps(OPERATORS))
    monkeypatch.setenv("AMTSWEG_TENANTS_FILE", str(tenants))
    app = wiring(intake_settings(port=0), Core(ledger, vault)).http_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def _routed(ledger: Ledger, portal: str, authority: str, ars: str) -> UUID:
    submission = new_submission(portal_id=portal, chain=ledger.chain_keys)
    submission.validate("cat-1", "urn:x")
    submission.route(authority, ars, ars[:5], "dir-1")
    return _save(ledger, submission)


def _unroutable(ledger: Ledger, portal: str) -> UUID:
    submission = new_submission(portal_id=portal, chain=ledger.chain_keys)
    submission.validate("cat-1", "urn:x")
    submission.mark_unroutable("no-competence", "nobody", "dir-1")
    return _save(ledger, submission)


def _save(ledger: Ledger, submission: Submission) -> UUID:
    ledger.save(submission)
    return submission.id


@pytest.fixture
def submissions(ledger: Ledger) -> dict[str, UUID]:
    """``koeln``: an unclaimed portal's, for a Köln authority (tenants platform and nw);
    ``dessau``, ``triage``: Sachsen-Anhalt's portal-b (tenant st)."""
    return {
        "koeln": _routed(ledger, "portal-a", "jobcenter-koeln", KOELN),
        "dessau": _routed(ledger, "portal-b", "jobcenter-dessau-rosslau", DESSAU),
        "triage": _unroutable(ledger, "portal-b"),
    }


async def _listed(ops: httpx.AsyncClient, operator: str) -> set[str]:
    answer = await ops.get("/ops/submissions", headers=_bearer(operator))
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["total"] == len(page["submissions"])
    return {row["submissionId"] for row in page["submissions"]}


async def test_each_operator_lists_its_tenants_submissions(
    ops: httpx.AsyncClient, submissions: dict[str, UUID]
) -> None:
    ids = {name: str(value) for name, value in submissions.items()}
    assert await _listed(ops, "erika") == {ids["dessau"], ids["triage"]}
    assert await _listed(ops, "max") == {ids["koeln"]}
    assert await _listed(ops, "root") == set(ids.values())
    counters = (await ops.get("/ops/counters", headers=_bearer("erika"))).json()
    assert counters["statuses"] == {"routed": 1, "unroutable": 1}
    assert counters["total"] == 2


async def test_a_foreign_submission_answers_as_an_unknown_one(
    ops: httpx.AsyncClient, submissions: dict[str, UUID]
) -> None:
    foreign, unknown = submissions["koeln"], uuid.uuid4()
    erika = _bearer("erika")
    for submission_id in (foreign, unknown):
        answers = [
            await ops.get(f"/ops/submissions/{submission_id}", headers=erika),
            await ops.get(f"/ops/submissions/{submission_id}/verify", headers=erika),
            await ops.get(f"/ops/v1/cases/{submission_id}", headers=erika),
            await ops.post(
                f"/ops/submissions/{submission_id}/replay",
                json={"stage": "routing", "dryRun": True},
                headers=erika,
            ),
            await ops.post(
                f"/ops/submissions/{submission_id}/redeliver",
                json={"reason": "lost"},
                headers=erika,
            ),
            await ops.post(
                f"/ops/triage/{submission_id}/assign",
                json={"authorityId": "jobcenter-koeln", "reason": "x"},
                headers=erika,
            ),
            await ops.get(
                "/ops/access-log", params={"submission": str(submission_id)}, headers=erika
            ),
        ]
        assert [a.status_code for a in answers] == [404] * len(answers)
        details = {a.json()["detail"].replace(str(submission_id), "ID") for a in answers}
        assert details <= {"No submission ID.", "No case or submission ID."}
    own = await ops.get(f"/ops/submissions/{submissions['dessau']}", headers=erika)
    assert own.status_code == 200
    assert own.json()["tenants"] == ["st"]
    rows = (await ops.get("/ops/submissions", headers=_bearer("root"))).json()["submissions"]
    shown = {row["submissionId"]: row["tenants"] for row in rows}
    assert shown[str(foreign)] == ["nw", "platform"]
    assert (await ops.get(f"/ops/submissions/{foreign}", headers=_bearer("max"))).status_code == 200
    assert (
        await ops.get(f"/ops/submissions/{foreign}", headers=_bearer("root"))
    ).status_code == 200


async def test_triage_and_the_access_log_are_scoped(
    ops: httpx.AsyncClient, submissions: dict[str, UUID]
) -> None:
    waiting = (await ops.get("/ops/triage", headers=_bearer("erika"))).json()["submissions"]
    assert [item["submissionId"] for item in waiting] == [str(submissions["triage"])]
    assert (await ops.get("/ops/triage", headers=_bearer("max"))).json()["submissions"] == []

    koeln = submissions["koeln"]
    assert (await ops.get(f"/ops/submissions/{koeln}", headers=_bearer("max"))).status_code == 200
    seen_by_erika = (await ops.get("/ops/access-log", headers=_bearer("erika"))).json()["entries"]
    assert all(entry.get("submissionId") != str(koeln) for entry in seen_by_erika)
    assert {entry["operator"] for entry in seen_by_erika} <= {"erika"}
    seen_by_root = (await ops.get("/ops/access-log", headers=_bearer("root"))).json()["entries"]
    assert any(entry.get("submissionId") == str(koeln) for entry in seen_by_root)


async def test_an_operator_without_a_scope_is_refused(
    ops: httpx.AsyncClient, submissions: dict[str, UUID]
) -> None:
    answer = await ops.get("/ops/submissions", headers=_bearer("otto"))
    assert answer.status_code == 403
    assert "AMTSWEG_OPERATOR_SCOPES" in answer.json()["detail"]
    assert (await ops.get("/ops/counters", headers=_bearer("otto"))).status_code == 403


async def test_dead_letters_are_scoped(
    ops: httpx.AsyncClient, ledger: Ledger, submissions: dict[str, UUID]
) -> None:
    koeln = submissions["koeln"]
    parked = Parked.of(
        "stage", "routing", "amtsweg.submissions.validated/0/3", str(koeln),
        "Validated", RecursionError("deep"),
    )  # fmt: skip
    parking_lot(ledger.settings).park(parked)
    letter_id = "parked-stage-routing-amtsweg.submissions.validated-0-3"
    for operator, shown in (("max", [letter_id]), ("erika", []), ("root", [letter_id])):
        listed = (await ops.get("/ops/dead-letters", headers=_bearer(operator))).json()
        assert [letter["letterId"] for letter in listed["letters"]] == shown, operator
        counters = (await ops.get("/ops/counters", headers=_bearer(operator))).json()
        assert counters["deadLetters"]["parked"] == len(shown), operator
    url = f"/ops/dead-letters/{letter_id}/drop"
    refused = await ops.post(url, json={"reason": "not mine"}, headers=_bearer("erika"))
    assert refused.status_code == 404
    dropped = await ops.post(url, json={"reason": "replayed"}, headers=_bearer("max"))
    assert dropped.status_code == 200, dropped.text
