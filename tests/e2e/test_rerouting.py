"""Rerouting end to end on the real broker: "not responsible" forwards to the next
competent authority with a new delivery, triage assigns when nobody is left, and a
submission for another state is handed over to that state's Amtsweg instance.

The other instance is its intake app with its own ledger and blob store, served over
real HTTP: two full pipelines on one broker would share Amtsweg's fixed topic names and
consumer groups. Its own validation and routing are then run on its ledger directly.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from typer.testing import CliRunner

from contracts import topics
from deploy.broker import BrokerHandle
from events.dossier import Dossier
from events.ledger import Ledger
from events.settings import LedgerSettings
from events.vault import local_vault
from services.intake.auth import token_hash
from services.intake.domain import submission_id_for
from services.intake.http import create_app
from services.intake.settings import IntakeSettings
from services.ops.app.bootstrap import SERVICES
from services.ops.cli.main import app as cli
from services.routing.handler import route_submission
from services.validation.catalog import load_catalog
from services.validation.handler import validate_submission
from services.validation.settings import ValidationSettings
from tests.support.authority import encryption_key, public, signing_key
from tests.support.factories import BUERGERGELD, json_request, xdomea_sample
from tests.support.instances import serving
from tests.support.pipeline import (
    auth,
    read_until,
    running,
    send_receipt,
    topic_reader,
    until_event,
)
from tests.support.routing import authority, national_context, write_directory

KOELN = "053150000000"
WERNIGERODE = "150850370370"
HANDOVER_TOKEN = "portal-token-of-nrw-at-st"


def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, document: dict[str, Any]) -> None:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("AMTSWEG_ROUTING_DIRECTORY", str(write_directory(tmp_path, document)))


KEYS = {"encryption": public(encryption_key()), "verification": public(signing_key())}
"""The test authorities' public keys: deliveries are sealed to them, receipts signed."""


async def _not_responsible(bootstrap: str, envelope: dict[str, Any]) -> None:
    await send_receipt(
        bootstrap,
        {
            "deliveryId": envelope["deliveryId"],
            "submissionId": envelope["submissionId"],
            "authorityId": envelope["authorityId"],
            "outcome": "not-responsible",
            "problems": [{"type": "https://amtsweg.de/problems/not-ours", "title": "Nicht hier"}],
        },
    )


async def test_not_responsible_forwards_then_triage_assigns_and_the_trail_is_one(
    kafka: BrokerHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suffix = uuid.uuid4().hex[:8]  # fresh topics on the shared broker
    jobcenter, regional = f"jobcenter-koeln-{suffix}", f"regionaldirektion-nrw-{suffix}"
    _environment(
        tmp_path,
        monkeypatch,
        {
            "version": "e2e-rerouting",
            "services": {BUERGERGELD: "Bürgergeld"},
            "authorities": [
                authority(jobcenter) | {"keys": KEYS},
                authority(regional) | {"keys": KEYS},
            ],
            "competences": [
                {"authority": jobcenter, "services": [BUERGERGELD], "area": "05315"},
                {"authority": regional, "services": [BUERGERGELD], "area": "05"},
            ],
        },
    )
    bootstrap = kafka.bootstrap_servers
    async with (
        running(set(SERVICES), bootstrap) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as client,
        topic_reader(bootstrap, topics.delivery_topic(jobcenter)) as koeln,
        topic_reader(bootstrap, topics.delivery_topic(regional)) as nrw,
    ):
        body = json_request(xdomea_sample(), routing={"ars": KOELN})
        answer = await client.post("/v1/submissions", json=body, headers=auth())
        assert answer.status_code == 202, answer.text
        submission_id = answer.json()["submissionId"]

        [first] = await read_until(koeln, 1)
        await _not_responsible(bootstrap, first)
        [second] = await read_until(nrw, 1)
        assert second["submissionId"] == submission_id
        assert second["deliveryId"] != first["deliveryId"]  # a new delivery, a new id

        await _not_responsible(bootstrap, second)
        await until_event(client, submission_id, "Unroutable")
        status = (await client.get(f"/v1/submissions/{submission_id}", headers=auth())).json()
        assert status["status"] == "unroutable"

        runner = CliRunner()
        listed = json.loads(runner.invoke(cli, ["triage", "list", "--json"]).stdout)
        assert [item["submission_id"] for item in listed] == [submission_id]
        assigned = runner.invoke(
            cli,
            [
                "triage", "assign", submission_id, "--authority", jobcenter,
                "--by", "erika", "--reason", "Wohnsitz in Köln bestätigt",
            ],
        )  # fmt: skip
        assert assigned.exit_code == 0, assigned.output
        [third] = await read_until(koeln, 1)
        assert third["deliveryId"] not in (first["deliveryId"], second["deliveryId"])
        await send_receipt(
            bootstrap,
            {
                "deliveryId": third["deliveryId"],
                "submissionId": submission_id,
                "authorityId": jobcenter,
                "outcome": "accepted",
                "reference": "AZ-2026-5",
            },
        )
        trail = await until_event(client, submission_id, "Accepted")

    assert [e["event"] for e in trail] == [
        "Received",
        "Validated",
        "Routed",
        "Dispatched",
        "Declined",
        "Forwarded",
        "Dispatched",
        "Declined",
        "Unroutable",
        "Assigned",
        "Dispatched",
        "Accepted",
    ]
    assert [e["prevHash"] for e in trail[1:]] == [e["hash"] for e in trail[:-1]]  # continuous
    routed, forwarded = trail[2]["data"], trail[5]["data"]
    assert routed["competence"] == f"{jobcenter}/{BUERGERGELD}/05315"
    assert routed["directory_version"].startswith("e2e-rerouting+")
    assert routed["resolution"] == {"source": "hint", "key": "ars"}  # never the value given
    assert (forwarded["authority_id"], forwarded["excluded"]) == (regional, [jobcenter])
    assert forwarded["declined_delivery_id"] == first["deliveryId"]
    assert "by" not in trail[9]["data"]  # the portal sees no operator names
    ledger = Ledger(LedgerSettings(data_dir=tmp_path / "var"))
    try:
        assert ledger.trail(UUID(submission_id))[9].data["by"] == "erika"
        assert ledger.verify(UUID(submission_id)) is None
    finally:
        ledger.close()


async def test_a_submission_for_another_state_is_handed_over_to_its_instance(
    kafka: BrokerHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    st_ledger = Ledger(LedgerSettings(data_dir=tmp_path / "st"))
    st_vault = local_vault(tmp_path / "st" / "vault")
    st_intake = IntakeSettings(portal_tokens={"amtsweg-nrw": token_hash(HANDOVER_TOKEN)})
    remote = f"amtsweg-sachsen-anhalt-{uuid.uuid4().hex[:8]}"
    try:
        async with serving(create_app(st_ledger, st_vault, st_intake)) as st_url:
            _environment(
                tmp_path,
                monkeypatch,
                {
                    "version": "e2e-nrw",
                    "services": {BUERGERGELD: "Bürgergeld"},
                    "authorities": [
                        authority(remote, "15", amtsweg={"url": st_url, "portalId": "amtsweg-nrw"})
                    ],
                    "competences": [{"authority": remote, "services": [BUERGERGELD], "area": "15"}],
                },
            )
            tokens = json.dumps({remote: HANDOVER_TOKEN})
            monkeypatch.setenv("AMTSWEG_DELIVERY_HANDOVER_TOKENS", tokens)
            async with (
                running(set(SERVICES), kafka.bootstrap_servers) as base,
                httpx.AsyncClient(base_url=base, timeout=30) as client,
            ):
                body = json_request(xdomea_sample(), routing={"ars": WERNIGERODE})
                answer = await client.post("/v1/submissions", json=body, headers=auth())
                submission_id = answer.json()["submissionId"]
                trail = await until_event(client, submission_id, "HandedOver")
                status = await client.get(f"/v1/submissions/{submission_id}", headers=auth())
        assert status.json()["status"] == "handed-over"
        assert [e["event"] for e in trail] == ["Received", "Validated", "Routed", "HandedOver"]
        handed = trail[-1]["data"]
        remote_id = UUID(handed["remote_submission_id"])

        # The other instance has it under our delivery id and correlation id …
        received = st_ledger.get_submission(remote_id)
        assert list(st_ledger.submission_ids()) == [remote_id]
        assert received.portal_id == "amtsweg-nrw"
        assert remote_id == submission_id_for("amtsweg-nrw", handed["delivery_id"])
        assert received.correlation_id == trail[0]["data"]["correlation_id"]
        assert Dossier.of(st_vault, received).routing == {"ars": WERNIGERODE}
        assert st_vault.read(remote_id, received.data["blob"]) == xdomea_sample()
        # … and its own trail goes on: validated and routed to the Landkreis Harz.
        settings = ValidationSettings()
        catalog = load_catalog(settings.catalog, settings.regions)
        assert validate_submission(st_ledger, st_vault, catalog, remote_id, settings.limits())
        assert route_submission(st_ledger, st_vault, national_context(), remote_id)
        assert st_ledger.get_submission(remote_id).authority_id == "jobcenter-landkreis-harz"
        assert st_ledger.verify(remote_id) is None
    finally:
        st_ledger.close()
