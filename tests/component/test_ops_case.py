"""A case on one timeline: ``GET /ops/v1/cases/{id}`` and ``amtsweg case show``, on a SQLite
ledger; the overview read model finds a case's submissions, also in a table from before."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner

from events.case import ReplyKind
from events.ledger import Ledger
from events.submission import Submission
from events.vault import Vault
from services.ops.actions.access_log import AccessQuery, Read, access_log
from services.ops.app.bootstrap import Core
from services.ops.cli import support as cli_support
from services.ops.cli.main import app
from services.ops.readmodels.overview.projector import OverviewProjector
from services.ops.readmodels.overview.rows import Filters
from services.ops.readmodels.overview.store import SQLiteOverviewStore
from tests.support.factories import new_submission
from tests.support.pipeline import PORTAL_TOKENS, intake_settings, wiring

AUTHORITY = "jobcenter-koeln"
KOELN = "053150000000"
DUE = "2030-01-31T23:59:59+00:00"
OPERATOR_TOKEN = "token-of-erika"
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
_OLD_OVERVIEW = (  # the overview table as created before cases were recorded
    "CREATE TABLE amtsweg_ops_submissions (submission_id TEXT PRIMARY KEY, "
    "portal_id TEXT NOT NULL, leika_key TEXT NOT NULL, status TEXT NOT NULL, "
    "authority_id TEXT, delivery_id TEXT, received_at DOUBLE PRECISION NOT NULL, "
    "updated_at DOUBLE PRECISION NOT NULL, version INTEGER NOT NULL, "
    "last_event TEXT NOT NULL, problem TEXT, escalated BOOLEAN NOT NULL, "
    "dead_letter BOOLEAN NOT NULL, content_erased BOOLEAN NOT NULL DEFAULT FALSE)"
)


def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    digest = hashlib.sha256(OPERATOR_TOKEN.encode()).hexdigest()
    monkeypatch.setenv("AMTSWEG_OPERATOR_TOKENS", json.dumps({"erika": digest}))


@pytest.fixture
async def ops(
    ledger: Ledger, vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    _environment(tmp_path, monkeypatch)
    served = wiring(intake_settings(port=0), Core(ledger, vault)).http_app()
    transport = httpx.ASGITransport(app=served)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def _case(ledger: Ledger, vault: Vault) -> Submission:
    """Delivered, then a request for documents, a supplement answering it (delivered and
    accepted), a decision: saved."""
    case = new_submission(chain=ledger.chain_keys)
    case.validate("cat-1", "urn:x")
    case.route(AUTHORITY, KOELN, "05315", "dir-1")
    envelope = vault.put_envelope(case.id, json.dumps({"deliveryId": "d-1"}).encode())
    case.dispatch("d-1", AUTHORITY, f"amtsweg.delivery.{AUTHORITY}", envelope)
    dossier = vault.put_document(case.id, {"subject": "Erika Mustermann"}).blob
    common: dict[str, Any] = {"authority_id": AUTHORITY, "dossier": dossier, "parts": []}
    case.reply(
        "r-1", kind=ReplyKind.REQUEST, delivery_id="d-1", request_digest="a", due=DUE, **common
    )
    case.hand_in("s-1", answers="r-1", dossier=dossier, parts=[], request_digest="b")
    case.dispatch_supplement("s-1", "d-2", f"amtsweg.delivery.{AUTHORITY}", envelope)
    case.acknowledge_supplement("d-2", "accepted", [])
    case.reply("r-2", kind=ReplyKind.DECISION, delivery_id="d-2", request_digest="c", **common)
    ledger.save(case)
    return case


def _follow_up(ledger: Ledger, case_id: str) -> Submission:
    """A second submission in the same case (as a FIT-Connect follow-up submission)."""
    follow_up = new_submission(chain=ledger.chain_keys, case_id=case_id)
    follow_up.validate("cat-1", "urn:x")
    ledger.save(follow_up)
    return follow_up


async def test_a_case_by_its_id_or_a_submission_id(
    ops: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    case = _case(ledger, vault)
    follow_up = _follow_up(ledger, case.case_id)
    _follow_up(ledger, str(uuid.uuid4()))  # another case

    by_case = await ops.get(f"/ops/v1/cases/{case.case_id}", headers=OPERATOR)
    assert by_case.status_code == 200, by_case.text
    answer = by_case.json()
    for reference in (case.id, follow_up.id):
        again = await ops.get(f"/ops/v1/cases/{reference}", headers=OPERATOR)
        assert again.json()["timeline"] == answer["timeline"]
    assert answer["caseId"] == case.case_id
    assert [s["submissionId"] for s in answer["submissions"]] == [str(case.id), str(follow_up.id)]
    first = answer["submissions"][0]
    assert first["status"] == "dispatched"
    assert first["deliveries"] == ["d-1", "d-2"]
    assert first["replies"] == {"r-1": "request", "r-2": "decision"}
    assert answer["openRequests"] == []
    assert answer["requests"][0]["state"] == "answered"
    assert answer["requests"][0]["answeredBy"] == "s-1"
    events = [(line["submissionId"], line["event"]) for line in answer["timeline"]]
    assert [e for s, e in events if s == str(case.id)] == [
        "Received",
        "Validated",
        "Routed",
        "Dispatched",
        "Replied",
        "SupplementReceived",
        "SupplementDispatched",
        "SupplementAcknowledged",
        "Replied",
    ]
    assert [e for s, e in events if s == str(follow_up.id)] == ["Received", "Validated"]
    times = [line["time"] for line in answer["timeline"]]
    assert times == sorted(times)
    assert "Mustermann" not in by_case.text
    assert f"request r-1 due {DUE}" in answer["timeline"][4]["details"]

    detail = (await ops.get(f"/ops/submissions/{case.id}", headers=OPERATOR)).json()
    assert detail["caseId"] == case.case_id
    listed = await ops.get("/ops/submissions", params={"case": case.case_id}, headers=OPERATOR)
    assert {s["submissionId"] for s in listed.json()["submissions"]} == {
        str(case.id),
        str(follow_up.id),
    }


async def test_only_operators_see_a_case_and_an_unknown_one_is_not_found(
    ops: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    case = _case(ledger, vault)
    for headers in ({}, {"Authorization": f"Bearer {PORTAL_TOKENS['portal-a']}"}):
        refused = await ops.get(f"/ops/v1/cases/{case.case_id}", headers=headers)
        assert refused.status_code == 401
    missing = await ops.get(f"/ops/v1/cases/{uuid.uuid4()}", headers=OPERATOR)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    malformed = await ops.get("/ops/v1/cases/not-a-uuid", headers=OPERATOR)
    assert malformed.status_code in {400, 422}


async def test_reading_a_case_is_in_the_access_log_for_each_submission(
    ops: httpx.AsyncClient, ledger: Ledger, vault: Vault
) -> None:
    case = _case(ledger, vault)
    follow_up = _follow_up(ledger, case.case_id)
    answer = await ops.get(
        f"/ops/v1/cases/{case.case_id}", params={"purpose": "Widerspruch"}, headers=OPERATOR
    )
    assert answer.status_code == 200
    entries = access_log(ledger.settings).entries(AccessQuery())
    reads = {(e.submission_id, e.what, e.purpose, e.operator, e.channel) for e in entries}
    assert reads == {
        (str(case.id), str(Read.CASE), "Widerspruch", "erika", "http"),
        (str(follow_up.id), str(Read.CASE), "Widerspruch", "erika", "http"),
    }


def test_an_overview_from_before_cases_learns_them(ledger: Ledger, vault: Vault) -> None:
    case = _case(ledger, vault)
    path = ledger.settings.sqlite_path()
    assert path is not None
    with sqlite3.connect(path) as connection:  # as an older Amtsweg left it, caught up
        connection.execute(_OLD_OVERVIEW)
        connection.execute(
            "CREATE TABLE amtsweg_projection_position "
            "(projection TEXT PRIMARY KEY, position BIGINT NOT NULL)"
        )
        connection.execute("INSERT INTO amtsweg_projection_position VALUES ('ops-submissions', 9)")
    store = SQLiteOverviewStore(str(path))
    try:
        assert store.position() == 0  # read again from the start
        OverviewProjector(ledger, store).catch_up()
        (row,) = store.select(Filters(case_id=case.case_id))
        assert row.submission_id == str(case.id)
        assert SQLiteOverviewStore(str(path)).position() == store.position()  # added once
    finally:
        store.close()


@pytest.fixture
def amtsweg(
    tmp_path: Path, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> tuple[CliRunner, dict[str, str | None]]:
    folder = tmp_path / "vault"
    env: dict[str, str | None] = {
        "AMTSWEG_DATA_DIR": str(tmp_path),
        "AMTSWEG_LEDGER_URL": None,
        "AMTSWEG_LEDGER_CHAIN_KEY": None,
        "AMTSWEG_DEVELOPMENT": None,
        "AMTSWEG_KEK_FILE": str(folder / "kek.json"),
        "AMTSWEG_KEYSTORE_URL": f"sqlite:///{folder / 'keys.sqlite3'}",
        "AMTSWEG_BLOB_URL": (folder / "blobs").as_uri(),
        "KAFKA_BOOTSTRAP_SERVERS": None,
        "AMTSWEG_OPERATOR": "erika",
    }
    monkeypatch.setattr(cli_support, "console", Console(width=100))
    return CliRunner(), env


def test_case_show_prints_the_timeline_within_100_columns(
    amtsweg: tuple[CliRunner, dict[str, str | None]], ledger: Ledger, vault: Vault
) -> None:
    runner, env = amtsweg
    case = _case(ledger, vault)
    follow_up = _follow_up(ledger, case.case_id)
    shown = runner.invoke(app, ["case", "show", str(case.id), "--purpose", "Prüfung"], env=env)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert lines[0] == f"Case {case.case_id}"
    assert f"1. submission {case.id}: dispatched" in shown.output
    assert f"2. submission {follow_up.id}: validated" in shown.output
    assert "request r-1 due 2030-01-31 23:59:59 UTC: answered by supplement s-1" in shown.output
    for event in ("SupplementReceived", "SupplementDispatched", "SupplementAcknowledged"):
        assert event in shown.output
    assert "time (UTC)" in shown.output  # times with their zone
    assert "Mustermann" not in shown.output

    berlin = runner.invoke(app, ["case", "show", str(case.id), "--zone", "Europe/Berlin"], env=env)
    assert berlin.exit_code == 0, berlin.output
    assert "2030-02-01 00:59:59 CET" in berlin.output
    assert "time (Europe/Berlin)" in berlin.output

    as_json = runner.invoke(app, ["case", "show", case.case_id, "--json"], env=env)
    assert as_json.exit_code == 0, as_json.output
    answer = json.loads(as_json.stdout)
    assert answer["caseId"] == case.case_id
    assert len(answer["timeline"]) == 11

    missing = runner.invoke(app, ["case", "show", str(uuid.uuid4())], env=env)
    assert missing.exit_code == 1
    reads = access_log(ledger.settings).entries(AccessQuery(operator="erika"))
    assert {(e.submission_id, e.what, e.channel) for e in reads} == {
        (str(case.id), "case", "cli"),
        (str(follow_up.id), "case", "cli"),
    }
    assert any(e.purpose == "Prüfung" for e in reads)
