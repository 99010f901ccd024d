"""Data protection end to end: a marker in data, attachment and metadata reaches ``Accepted``
and is found nowhere Amtsweg keeps something, but sealed; after erasure nowhere at all."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from typer.testing import CliRunner

from deploy.broker import BrokerHandle
from events.ledger import Ledger
from events.settings import LedgerSettings
from receiver.consume import ReceiverConfig, consume
from services.delivery.auth import token_hash
from services.ops.app.bootstrap import SERVICES
from services.ops.cli.main import app as cli
from tests.support.authority import KOELN, directory_file, encryption_key, public, signing_key
from tests.support.factories import json_request, xdomea_sample
from tests.support.markers import files_with, topics_with
from tests.support.pipeline import auth, running

TOKEN = "authority-token-data-protection"


def _document(marker: str) -> bytes:
    declaration, _, rest = xdomea_sample().partition(b"?>")
    return declaration + b"?>\n<!-- " + marker.encode() + b" -->" + rest


def _request(marker: str, document: bytes, attachment: bytes) -> dict[str, Any]:
    attachment_id = str(uuid.uuid4())
    body = json_request(
        document, routing={"ars": "053150000000"}, attachments=[(attachment_id, attachment)]
    )
    metadata = body["metadata"]
    metadata["publicServiceType"]["name"] = f"Bürgergeld {marker}"
    metadata["contentStructure"]["attachments"][0]["filename"] = f"{marker}.pdf"
    metadata["replyChannel"] = {"eMail": {"address": f"{marker}@example.org"}}
    return body


async def _until(client: httpx.AsyncClient, submission_id: str, event: str) -> list[str]:
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        page = await client.get(f"/v1/submissions/{submission_id}/events", headers=auth())
        names = [e["event"] for e in page.json()["events"]]
        if event in names:
            return names
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"no {event} in time: {names}")
        await asyncio.sleep(0.1)


async def test_the_marker_is_nowhere_but_sealed_and_after_erasure_nowhere(
    kafka: BrokerHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    marker = f"marker-{uuid.uuid4().hex}"
    document = _document(marker)
    attachment = b"%PDF-1.7 " + marker.encode() + b" Kontoauszug (synthetic)" * 50
    needles = [marker.encode(), base64.b64encode(document), base64.b64encode(attachment)]
    data_dir = tmp_path / "var"
    authority = f"jobcenter-dp-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(data_dir))
    monkeypatch.setenv(
        "AMTSWEG_DELIVERY_AUTHORITY_TOKENS", json.dumps({authority: token_hash(TOKEN)})
    )
    keys = {"encryption": public(encryption_key()), "verification": public(signing_key())}
    directory = directory_file(tmp_path, {authority: {"keys": keys}}, rename={KOELN: authority})
    monkeypatch.setenv("AMTSWEG_ROUTING_DIRECTORY", str(directory))

    async with (
        running(set(SERVICES), kafka.bootstrap_servers) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as client,
    ):
        answer = await client.post(
            "/v1/submissions", json=_request(marker, document, attachment), headers=auth()
        )
        assert answer.status_code == 202, answer.text
        submission_id = answer.json()["submissionId"]
        await _until(client, submission_id, "Dispatched")
        summary = await consume(
            ReceiverConfig(
                authority_id=authority,
                bootstrap_servers=kafka.bootstrap_servers,
                out=tmp_path / "fachverfahren",
                decryption_key=encryption_key(),
                signing_key=signing_key(),
                api=base,
                token=TOKEN,
                stop_when_idle=2,
            )
        )
        assert summary.handed_over == 1  # the authority could open it: sealed to it, not lost
        await _until(client, submission_id, "Accepted")

        before = {
            "files": files_with(data_dir, needles),
            "topics": await topics_with(kafka.bootstrap_servers, needles),
            "logs": [n.decode() for n in needles if n.decode() in "".join(capfd.readouterr())],
        }
        print("marker before erasure:", json.dumps(before))
        assert before == {"files": [], "topics": [], "logs": []}
        assert any((tmp_path / "fachverfahren").rglob("data.xml"))

        runner = CliRunner()
        erased = runner.invoke(
            cli,
            [
                "erase",
                submission_id,
                "--reason",
                "Löschantrag 2026-17",
                "--legal-basis",
                "Art. 17 Abs. 1 DSGVO",
                "--by",
                "dsb-test",
                "--json",
            ],
        )
        assert erased.exit_code == 0, erased.output
        assert json.loads(erased.output)["keyDestroyed"] is True
        again = runner.invoke(
            cli, ["erase", submission_id, "--reason", "x", "--legal-basis", "y", "--json"]
        )
        assert json.loads(again.output)["recorded"] is False  # once

        status = await client.get(f"/v1/submissions/{submission_id}", headers=auth())
        assert status.json()["status"] == "accepted"
        names = await _until(client, submission_id, "ContentErased")
        assert names[-1] == "ContentErased"
        verified = runner.invoke(cli, ["verify", submission_id])
        assert verified.exit_code == 0, verified.output
        replayed = runner.invoke(
            cli, ["replay", "validation", submission_id, "--reason", "x", "--json"]
        )
        assert replayed.exit_code == 1
        assert "was erased" in replayed.output
        redelivered = runner.invoke(cli, ["redeliver", submission_id, "--reason", "x"])
        assert redelivered.exit_code != 0
        await asyncio.sleep(1)  # the relay publishes ContentErased

        after = {
            "files": files_with(data_dir, needles),
            "topics": await topics_with(kafka.bootstrap_servers, needles),
            "logs": [n.decode() for n in needles if n.decode() in "".join(capfd.readouterr())],
        }
        print("marker after erasure:", json.dumps(after))
        assert after == {"files": [], "topics": [], "logs": []}

    ledger = Ledger(LedgerSettings(data_dir=data_dir))
    try:
        trail = ledger.trail(UUID(submission_id))
        erasure = trail[-1].data
        assert (erasure["by"], erasure["legal_basis"]) == ("dsb-test", "Art. 17 Abs. 1 DSGVO")
        assert erasure["destroyed"]["dataKey"] == "destroyed"
        assert erasure["destroyed"]["blobs"] >= 4  # data, attachment, dossier, envelope
        assert ledger.verify(UUID(submission_id)) is None
    finally:
        ledger.close()
    assert not any((data_dir / "blobs" / "groups").rglob(f"{submission_id}*"))
