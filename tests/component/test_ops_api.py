"""The ops API (``/ops``) and the console's files, on the HTTP app with a SQLite ledger."""

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
from services.ops.actions.access_log import AccessQuery, Channel, Read, access_log
from services.ops.actions.erasure import erase
from services.ops.app.bootstrap import Core
from tests.support.factories import new_submission, sealed_submission, xdomea_sample
from tests.support.intake import assert_problem
from tests.support.pipeline import PORTAL_TOKENS, intake_settings, wiring

KOELN = "053150000000"
OPERATOR_TOKEN = "token-of-erika"
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


@pytest.fixture
async def ops(
    ledger: Ledger, vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    digest = hashlib.sha256(OPERATOR_TOKEN.encode()).hexdigest()
    monkeypatch.setenv("AMTSWEG_OPERATOR_TOKENS", json.dumps({"erika": digest}))
    app = wiring(intake_settings(port=0), Core(ledger, vault)).http_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def _save(ledger: Ledger, submission: Submission) -> UUID:
    ledger.save(submission)
    return submission.id


def _dispatched(ledger: Ledger, vault: Vault, delivery: str | None = None) -> UUID:
    """Dispatched with a reference to an envelope sealed in the vault (as delivery does)."""
    delivery = delivery or f"d-{uuid.uuid4()}"
    submission = new_submission(chain=ledger.chain_keys)
    submission.validate("cat-1", "urn:x")
    submission.route("jobcenter-koeln", KOELN, "05315", "dir-1")
    envelope = vault.put_envelope(submission.id, json.dumps({"deliveryId": delivery}).encode())
    submission.dispatch(delivery, "jobcenter-koeln", "amtsweg.delivery.jobcenter-koeln", envelope)
    return _save(ledger, submission)


def _unroutable(ledger: Ledger, vault: Vault) -> UUID:
    """Unroutable with directory "dir-old"; the portal's hint (Köln) is in the sealed dossier."""
    submission = sealed_submission(
        vault, xdomea_sample(), routing={"ars": KOELN}, chain=ledger.chain_keys
    )
    submission.validate("cat-1", "urn:x")
    submission.mark_unroutable("no-competence", "nobody then", "dir-old")
    return _save(ledger, submission)


def _events(ledger: Ledger, submission_id: UUID) -> list[str]:
    return [entry.event for entry in ledger.trail(submission_id)]


async def test_only_operators_may_use_the_ops_api(
    ops: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    _dispatched(ledger, vault)
    for headers in ({}, {"Authorization": f"Bearer {PORTAL_TOKENS['portal-a']}"}):
        answer = await ops.get("/ops/submissions", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.headers["www-authenticate"].startswith("Bearer")
    assert (await ops.get("/ops/submissions", headers=OPERATOR)).status_code == 200
    portal = await ops.get("/v1/submissions/x", headers=OPERATOR)
    assert portal.status_code in {400, 401, 404, 422}  # an operator is no portal


async def test_list_and_timeline(ops: httpx.AsyncClient, ledger: Ledger, vault: Vault) -> None:
    dispatched = _dispatched(ledger, vault)
    unroutable = _unroutable(ledger, vault)
    page = (await ops.get("/ops/submissions", headers=OPERATOR)).json()
    assert page["total"] == 2
    assert {s["submissionId"] for s in page["submissions"]} == {str(dispatched), str(unroutable)}
    only = (
        await ops.get("/ops/submissions", params={"status": "unroutable"}, headers=OPERATOR)
    ).json()
    assert [s["submissionId"] for s in only["submissions"]] == [str(unroutable)]
    assert only["submissions"][0]["problem"] == "no-competence"

    detail = (await ops.get(f"/ops/submissions/{dispatched}", headers=OPERATOR)).json()
    assert detail["status"] == "dispatched"
    timeline = detail["timeline"]
    assert [line["event"] for line in timeline] == ["Received", "Validated", "Routed", "Dispatched"]
    assert [line["actor"] for line in timeline] == [
        "portal portal-a",
        "validation",
        "routing",
        "delivery",
    ]
    assert all("envelope" not in line["details"] for line in timeline)

    missing = await ops.get(f"/ops/submissions/{uuid.uuid4()}", headers=OPERATOR)
    assert missing.status_code == 404
    verified = (await ops.get(f"/ops/submissions/{dispatched}/verify", headers=OPERATOR)).json()
    assert verified["intact"] is True


async def test_replay_records_the_operator(
    ops: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    submission_id = _unroutable(ledger, vault)
    url = f"/ops/submissions/{submission_id}/replay"
    no_reason = await ops.post(
        url, json={"stage": "routing", "against": "current"}, headers=OPERATOR
    )
    assert no_reason.status_code == 422

    dry = await ops.post(
        url, json={"stage": "routing", "against": "current", "dryRun": True}, headers=OPERATOR
    )
    assert dry.status_code == 200, dry.text
    assert dry.json()["outcome"] == "changed"
    assert dry.json()["events"] == ["Replayed", "Routed"]
    assert _events(ledger, submission_id)[-1] == "Unroutable"

    recorded = recorded_answer = await ops.post(
        url, json={"stage": "routing", "against": "current", "reason": "fixed"}, headers=OPERATOR
    )
    assert recorded.status_code == 200, recorded_answer.text
    assert recorded.json()["written"] is True
    assert _events(ledger, submission_id)[-2:] == ["Replayed", "Routed"]
    replayed = ledger.trail(submission_id)[-2].data
    assert (replayed["actor"], replayed["reason"]) == ("erika", "fixed")

    recorded_version = await ops.post(
        f"/ops/submissions/{_unroutable(ledger, vault)}/replay",
        json={"stage": "routing", "reason": "as then"},
        headers=OPERATOR,
    )
    assert recorded_version.status_code == 409  # "dir-old" is in nobody's archive


async def test_redeliver(ops: httpx.AsyncClient, ledger: Ledger, vault: Vault) -> None:
    submission_id = _dispatched(ledger, vault)
    url = f"/ops/submissions/{submission_id}/redeliver"
    answer = await ops.post(url, json={"reason": "lost", "requestId": "q-1"}, headers=OPERATOR)
    assert answer.status_code == 200, answer.text
    assert answer.json()["written"] is True
    again = await ops.post(url, json={"reason": "lost", "requestId": "q-1"}, headers=OPERATOR)
    assert again.json()["written"] is False
    assert _events(ledger, submission_id).count("Redelivered") == 1
    refused = await ops.post(
        f"/ops/submissions/{_unroutable(ledger, vault)}/redeliver",
        json={"reason": "x"},
        headers=OPERATOR,
    )
    assert refused.status_code == 409


async def test_an_erased_submission_is_neither_replayed_nor_redelivered(
    ops: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    unroutable, dispatched = _unroutable(ledger, vault), _dispatched(ledger, vault)
    for submission_id in (unroutable, dispatched):
        erase(ledger, vault, submission_id, by="erika", legal_basis="DSGVO Art. 17", reason="x")
    replay = await ops.post(
        f"/ops/submissions/{unroutable}/replay",
        json={"stage": "routing", "against": "current", "reason": "fixed"},
        headers=OPERATOR,
    )
    assert_problem(replay, 410, "content-erased")
    redeliver = await ops.post(
        f"/ops/submissions/{dispatched}/redeliver", json={"reason": "lost"}, headers=OPERATOR
    )
    assert_problem(redeliver, 410, "content-erased")
    assert _events(ledger, unroutable)[-1] == _events(ledger, dispatched)[-1] == "ContentErased"
    detail = (await ops.get(f"/ops/submissions/{dispatched}", headers=OPERATOR)).json()
    assert detail["status"] == "dispatched"  # the trail still answers


async def test_counters_and_throughput(
    ops: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    _dispatched(ledger, vault)
    _unroutable(ledger, vault)
    _save(ledger, new_submission(chain=ledger.chain_keys))
    counters = (await ops.get("/ops/counters", headers=OPERATOR)).json()
    assert counters["statuses"] == {"dispatched": 1, "unroutable": 1, "received": 1}
    assert counters["total"] == 3
    assert counters["triage"] == 1
    assert counters["deadLetters"] == {"intake": None, "delivery": 0, "parked": 0}  # no broker
    assert counters["relay"] == {"position": 0, "head": 8, "lag": 8}
    flow = (await ops.get("/ops/throughput", params={"minutes": 10}, headers=OPERATOR)).json()
    assert flow["minutes"] == 10
    assert sum(flow["series"]["Received"]) == 3
    assert sum(flow["series"]["Dispatched"]) == 1
    assert len(flow["series"]["Received"]) == 10


async def test_delivery_dead_letters(ops: httpx.AsyncClient, ledger: Ledger, vault: Vault) -> None:
    submission_id = _dispatched(ledger, vault, delivery="d-dead")
    ledger.execute(submission_id, lambda s: s.record_callback("d-dead", 0, 8, failure="HTTP 503"))
    listed = (await ops.get("/ops/dead-letters", headers=OPERATOR)).json()
    assert listed["intakeAvailable"] is False
    (letter,) = listed["letters"]
    assert letter["submissionId"] == str(submission_id)
    assert (await ops.get("/ops/counters", headers=OPERATOR)).json()["deadLetters"]["delivery"] == 1

    url = f"/ops/dead-letters/{letter['letterId']}/retry"
    retried = await ops.post(url, json={"reason": "endpoint fixed"}, headers=OPERATOR)
    assert retried.status_code == 200, retried.text
    assert _events(ledger, submission_id)[-1] == "CallbackRequeued"
    assert ledger.trail(submission_id)[-1].data["actor"] == "erika"
    assert (await ops.get("/ops/dead-letters", headers=OPERATOR)).json()["letters"] == []
    gone = await ops.post(url, json={"reason": "again"}, headers=OPERATOR)
    assert gone.status_code == 404
    unknown = await ops.post("/ops/dead-letters/x/explode", json={"reason": "x"}, headers=OPERATOR)
    assert unknown.status_code == 404


async def test_parked_messages_are_dead_letters(ops: httpx.AsyncClient, ledger: Ledger) -> None:
    submission_id = _save(ledger, new_submission(chain=ledger.chain_keys))
    parked = Parked.of(
        "stage", "validation", "amtsweg.submissions.received/1/17", str(submission_id),
        "Received", RecursionError("Erika Mustermann, Musterstraße 1"),
    )  # fmt: skip
    parking_lot(ledger.settings).park(parked)
    counters = (await ops.get("/ops/counters", headers=OPERATOR)).json()
    assert counters["deadLetters"]["parked"] == 1
    listed = (
        await ops.get("/ops/dead-letters", params={"kind": "parked"}, headers=OPERATOR)
    ).json()
    (letter,) = listed["letters"]
    assert letter["letterId"] == "parked-stage-validation-amtsweg.submissions.received-1-17"
    assert letter["submissionId"] == str(submission_id)
    assert letter["problem"] == "RecursionError"
    assert "nested too deeply" in letter["detail"]
    assert "amtsweg replay validation" in letter["detail"]
    assert "Erika" not in json.dumps(listed)
    url = f"/ops/dead-letters/{letter['letterId']}"
    refused = await ops.post(f"{url}/retry", json={"reason": "try"}, headers=OPERATOR)
    assert refused.status_code == 409
    dropped = await ops.post(f"{url}/drop", json={"reason": "replayed"}, headers=OPERATOR)
    assert dropped.status_code == 200, dropped.text
    assert (await ops.get("/ops/dead-letters", headers=OPERATOR)).json()["letters"] == []
    counters = (await ops.get("/ops/counters", headers=OPERATOR)).json()
    assert counters["deadLetters"]["parked"] == 0


async def test_triage_queue_and_assign(
    ops: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    waiting = _unroutable(ledger, vault)
    queue = (await ops.get("/ops/triage", headers=OPERATOR)).json()
    assert queue["available"] is True
    assert [item["submissionId"] for item in queue["submissions"]] == [str(waiting)]

    url = f"/ops/triage/{waiting}/assign"
    unknown = await ops.post(
        url, json={"authorityId": "nobody-here", "reason": "x"}, headers=OPERATOR
    )
    assert unknown.status_code == 409
    assigned = await ops.post(
        url, json={"authorityId": "jobcenter-koeln", "reason": "phoned"}, headers=OPERATOR
    )
    assert assigned.status_code == 200, assigned.text
    assert _events(ledger, waiting)[-1] == "Assigned"
    assert (await ops.get("/ops/triage", headers=OPERATOR)).json()["submissions"] == []
    detail = (await ops.get(f"/ops/submissions/{waiting}", headers=OPERATOR)).json()
    assert detail["timeline"][-1]["actor"] == "operator erika"


async def test_the_console_is_served_without_a_token(ops: httpx.AsyncClient) -> None:
    redirect = await ops.get("/ops/console")
    assert redirect.status_code in {302, 307}
    page = await ops.get("/ops/console/")
    assert page.status_code == 200
    assert "Amtsweg" in page.text
    assert '<script src="console.js">' in page.text
    script = await ops.get("/ops/console/console.js")
    assert script.status_code == 200
    assert "http://" not in script.text.replace("http://www.w3.org/2000/svg", "")  # offline
    assert "https://" not in script.text + page.text


async def test_reads_are_in_the_access_log_with_operator_and_purpose(
    ops: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    submission_id = _dispatched(ledger, vault)
    _unroutable(ledger, vault)
    detail = await ops.get(
        f"/ops/submissions/{submission_id}",
        params={"purpose": "Anfrage der Antragstellerin"},
        headers=OPERATOR,
    )
    assert detail.status_code == 200
    verified = await ops.get(
        f"/ops/submissions/{submission_id}/verify",
        headers={**OPERATOR, "Amtsweg-Purpose": "audit 2026-03"},
    )
    assert verified.status_code == 200
    for url in ("/ops/submissions", "/ops/triage", "/ops/dead-letters"):
        assert (await ops.get(url, headers=OPERATOR)).status_code == 200
    missing = await ops.get(f"/ops/submissions/{uuid.uuid4()}", headers=OPERATOR)
    assert missing.status_code == 404  # nothing shown, nothing recorded
    assert (await ops.get("/ops/counters", headers=OPERATOR)).status_code == 200  # figures only

    entries = access_log(ledger.settings).entries(AccessQuery())
    assert [(e.what, e.submission_id, e.purpose) for e in reversed(entries)] == [
        ("trail", str(submission_id), "Anfrage der Antragstellerin"),
        ("verify", str(submission_id), "audit 2026-03"),
        ("list", None, "not stated"),
        ("triage", None, "not stated"),
        ("dead-letters", None, "not stated"),
    ]
    assert {(e.operator, e.channel) for e in entries} == {("erika", "http")}


async def test_the_access_log_is_queried_and_the_query_recorded(
    ops: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    first, second = _dispatched(ledger, vault), _dispatched(ledger, vault)
    log = access_log(ledger.settings)
    log.record("max", Read.TRAIL, channel=Channel.CLI, purpose="Widerspruch", submission_id=first)
    for submission_id in (first, second):
        await ops.get(f"/ops/submissions/{submission_id}", headers=OPERATOR)

    async def query(**params: str) -> list[dict[str, object]]:
        answer = await ops.get("/ops/access-log", params=params, headers=OPERATOR)
        assert answer.status_code == 200, answer.text
        entries: list[dict[str, object]] = answer.json()["entries"]
        return entries

    of_first = await query(submission=str(first), purpose="DSB-Auskunft")
    assert [(e["operator"], e["channel"]) for e in of_first] == [("erika", "http"), ("max", "cli")]
    assert of_first[1]["purpose"] == "Widerspruch"
    assert [e["what"] for e in await query(operator="max")] == ["trail"]
    assert await query(since="2999-01-01T00:00:00Z") == []
    assert await query(until="2000-01-01T00:00:00") == []
    assert len(await query(limit="2")) == 2

    reads = log.entries(AccessQuery(operator="erika"))
    recorded = [e for e in reads if e.what == "access-log"]
    assert len(recorded) == 5
    assert (recorded[-1].submission_id, recorded[-1].purpose) == (str(first), "DSB-Auskunft")
    assert (await ops.get("/ops/access-log")).status_code == 401
    too_few = await ops.get("/ops/access-log", params={"limit": "0"}, headers=OPERATOR)
    assert too_few.status_code == 400
