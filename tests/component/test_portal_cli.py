"""``amtsweg portal submit | status | watch | confirmation`` against the served HTTP app
(uvicorn on a free port, SQLite ledger, no broker): the reference portal's side of what
exists on this branch. The stages are played on the ledger directly."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from events.ledger import Ledger
from events.vault import Vault
from services.ops.app.bootstrap import Core
from services.ops.app.logs import configure_logging
from services.ops.cli import support as cli_support
from services.ops.cli.main import app as cli
from tests.support.factories import metadata_for, sha512, xdomea_sample
from tests.support.fitconnect_sending import served
from tests.support.pipeline import PORTAL_TOKENS, intake_settings, wiring

DATA = xdomea_sample()
ATTACHMENT = b"%PDF-1.4\n" + b"Mietvertrag " * 100 + b"\n%%EOF\n"


@pytest.fixture
async def base(
    ledger: Ledger, vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[str]:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AMTSWEG_DEVELOPMENT", "1")
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setattr(cli_support, "console", Console(width=200))
    configure_logging(level="WARNING")  # the served app's log lines stay out of the output
    app = wiring(intake_settings(port=0), Core(ledger, vault)).http_app()
    async with served(app) as url:
        yield url


async def _portal(base: str, *args: str, portal: str = "portal-a") -> Result:
    """``amtsweg portal …`` in a thread (the served app runs on this loop)."""
    env = {"AMTSWEG_PORTAL_API": base, "AMTSWEG_PORTAL_TOKEN": PORTAL_TOKENS[portal]}
    return await asyncio.to_thread(CliRunner().invoke, cli, ["portal", *args], env=env)


def _files(tmp_path: Path, metadata: dict[str, Any]) -> tuple[str, str, str]:
    (tmp_path / "metadata.json").write_text(json.dumps(metadata))
    (tmp_path / "antrag.xml").write_bytes(DATA)
    (tmp_path / "mietvertrag.pdf").write_bytes(ATTACHMENT)
    return (
        str(tmp_path / "metadata.json"),
        str(tmp_path / "antrag.xml"),
        str(tmp_path / "mietvertrag.pdf"),
    )


async def test_submit_with_hashes_filled_in_then_status_and_the_proof(
    base: str, ledger: Ledger, tmp_path: Path
) -> None:
    metadata = metadata_for(b"not the data")  # wrong hash, no attachment declared
    metadata_file, data_file, attachment = _files(tmp_path, metadata)
    refused = await _portal(base, "submit", metadata_file, data_file, "--json")
    assert refused.exit_code == 1, refused.output
    assert "422" in refused.output

    submitted = await _portal(
        base,
        "submit",
        metadata_file,
        data_file,
        "--attachment",
        attachment,
        "--fill-hashes",
        "--routing",
        '{"ars": "053150000000"}',
        "--idempotency-key",
        "antrag-1",
        "--json",
    )
    assert submitted.exit_code == 0, submitted.output
    answer = json.loads(submitted.stdout)
    submission_id = UUID(answer["submissionId"])
    stored = ledger.get_submission(submission_id)
    assert answer["caseId"] == stored.case_id
    assert [a["sha512"] for a in ledger.trail(submission_id)[0].data["attachments"]] == [
        sha512(ATTACHMENT)
    ]
    again = await _portal(
        base,
        "submit",
        metadata_file,
        data_file,
        "--attachment",
        attachment,
        "--fill-hashes",
        "--routing",
        '{"ars": "053150000000"}',
        "--idempotency-key",
        "antrag-1",
    )
    assert again.exit_code == 0, again.output
    assert f"submission {submission_id} (case {stored.case_id}): received" in again.output

    shown = await _portal(base, "status", str(submission_id))
    assert shown.exit_code == 0, shown.output
    assert f"submission {submission_id}: received" in shown.output
    assert f"case {stored.case_id}" in shown.output
    foreign = await _portal(base, "status", str(submission_id), portal="portal-b")
    assert foreign.exit_code == 1
    assert "404 submission-not-found" in foreign.output

    proof = tmp_path / "receipt.jws"
    fetched = await _portal(base, "confirmation", str(submission_id), "--out", str(proof))
    assert fetched.exit_code == 0, fetched.output
    assert f"(case {stored.case_id})" in fetched.output
    keys = tmp_path / "keys.json"
    async with httpx.AsyncClient(base_url=base) as http:
        keys.write_text((await http.get("/v1/keys")).text)
    verified = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["portal", "verify-receipt", str(proof), "--keys", str(keys), "--json"],
    )
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout)["claims"]["submissionId"] == str(submission_id)


async def test_watch_prints_each_event_once_until_accepted(
    base: str, ledger: Ledger, tmp_path: Path
) -> None:
    metadata_file, data_file, _ = _files(tmp_path, metadata_for(DATA))
    submitted = await _portal(base, "submit", metadata_file, data_file, "--json")
    submission_id = UUID(json.loads(submitted.stdout)["submissionId"])

    timed_out = await _portal(
        base, "watch", str(submission_id), "--until", "accepted", "--timeout", "0"
    )
    assert timed_out.exit_code == 3, timed_out.output
    assert timed_out.output.count("Received") == 1

    async def authority_accepts() -> None:
        await asyncio.sleep(0.5)
        ledger.execute(submission_id, lambda s: s.validate("cat-1", "urn:x"))
        ledger.execute(
            submission_id, lambda s: s.route("jobcenter-koeln", "053150000000", "05315", "dir-1")
        )
        topic = "amtsweg.delivery.jobcenter-koeln"
        ledger.execute(
            submission_id, lambda s: s.dispatch("d-1", "jobcenter-koeln", topic, {"blob": "x"})
        )
        await asyncio.sleep(0.5)
        ledger.execute(submission_id, lambda s: s.accept("d-1", "AZ-2026-1"))

    playing = asyncio.create_task(authority_accepts())
    watched = await _portal(
        base,
        "watch",
        str(submission_id),
        "--until",
        "accepted",
        "--timeout",
        "30",
        "--interval",
        "0.1",
    )
    await playing
    assert watched.exit_code == 0, watched.output
    lines = watched.output.splitlines()
    events = [line.split()[1] for line in lines if line[:4].isdigit()]
    assert events == ["Received", "Validated", "Routed", "Dispatched", "Accepted"]
    assert "delivery_id=d-1" in lines[3]
    assert "reference=AZ-2026-1" in lines[4]
    assert lines[-1] == f"accepted: submission {submission_id} is accepted"
