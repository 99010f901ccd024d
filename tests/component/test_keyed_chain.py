"""With ``AMTSWEG_LEDGER_CHAIN_KEY`` set, every hash the intake and later steps record is
an HMAC under that key: the chain verifies with it and breaks without it."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import httpx
import pytest
from pydantic import SecretStr

from events.ledger import Ledger
from events.settings import LedgerSettings
from events.vault import Vault
from services.intake.domain import submission_id_for
from services.intake.json_form import parse_json_form, store_parts
from services.intake.receive import Arrival, receive
from services.intake.sealing import PartSink
from tests.support.factories import json_request, xdomea_sample
from tests.support.intake import KOELN
from tests.support.pipeline import auth, intake_settings


@pytest.fixture
def ledger_settings(tmp_path: Path) -> LedgerSettings:
    """A keyed ledger (the ``ledger`` fixture, and so ``api`` and ``client``, open it)."""
    return LedgerSettings(data_dir=tmp_path, ledger_chain_key=SecretStr("test-key"))


async def test_what_the_intake_records_is_hashed_under_the_ledgers_key(
    client: httpx.AsyncClient, ledger: Ledger, vault: Vault, tmp_path: Path
) -> None:
    body = json_request(xdomea_sample(), routing=KOELN)
    response = await client.post("/v1/submissions", json=body, headers=auth())
    assert response.status_code == 202, response.text
    over_http = UUID(response.json()["submissionId"])
    form = parse_json_form(json_request(xdomea_sample()), intake_settings(port=0))
    sink = PartSink(vault, submission_id_for("portal-a", None), keep=True)
    arrival = Arrival(sink.seal_dossier(store_parts(sink, form)), "portal-a", None, "correlation-1")
    alone = receive(ledger, vault, arrival).submission_id

    for submission_id in (over_http, alone):
        ledger.execute(submission_id, lambda s: s.validate("cat-1", "urn:x"))
        assert ledger.verify(submission_id) is None

    unkeyed = Ledger(LedgerSettings(data_dir=tmp_path, ledger_chain_key=None))
    try:
        for submission_id in (over_http, alone):
            broken = unkeyed.verify(submission_id)
            assert broken is not None
            assert broken.version == 1
    finally:
        unkeyed.close()
