"""End to end on the real broker: one poisoned submission among good ones stops nothing.

The poison is real: the sealed dossier of one accepted submission is corrupted in the
blob store (as a damaged disk or a tampered file would), so validation's step fails on
that one message every time. It is parked and visible; every good submission of the same
batches reaches its authority's topic.
"""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import httpx
import pytest

from contracts import topics
from deploy.broker import BrokerHandle
from events.ledger import Ledger
from events.settings import LedgerSettings
from services.ops.actions.dead_letters import PARKED
from tests.support.factories import json_request, xdomea_sample
from tests.support.pipeline import (
    auth,
    free_port,
    intake_settings,
    read_until,
    running,
    topic_reader,
    wiring,
)

KOELN = "053150000000"
AUTHORITY = "jobcenter-koeln"
GOOD = 12


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    return tmp_path


def _corrupt_dossier(data_dir: Path, submission_id: UUID) -> None:
    """Flip a byte in the middle of the submission's sealed dossier."""
    ledger = Ledger(LedgerSettings(data_dir=data_dir))
    try:
        group, item = ledger.get_submission(submission_id).dossier.split("/")
    finally:
        ledger.close()
    (path,) = [p for p in data_dir.rglob(item) if p.parent.name == group]
    sealed = bytearray(path.read_bytes())
    sealed[len(sealed) // 2] ^= 0xFF
    path.write_bytes(bytes(sealed))


async def test_a_poisoned_submission_is_parked_and_every_good_one_arrives(
    kafka: BrokerHandle, data_dir: Path
) -> None:
    bootstrap = kafka.bootstrap_servers
    document = xdomea_sample()
    port = free_port()
    accepted: list[str] = []
    # intake and relay only: the submissions wait on amtsweg.submissions.received
    async with (
        running({"intake", "relay"}, bootstrap, port) as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        for n in range(GOOD + 1):
            body = json_request(document + f"<!-- {n} -->".encode(), routing={"ars": KOELN})
            answer = await client.post("/v1/submissions", json=body, headers=auth())
            assert answer.status_code == 202, answer.text
            accepted.append(answer.json()["submissionId"])
    poisoned = accepted[GOOD // 2]
    good = set(accepted) - {poisoned}
    _corrupt_dossier(data_dir, UUID(poisoned))

    async with (
        topic_reader(bootstrap, topics.delivery_topic(AUTHORITY)) as reader,
        running({"validation", "routing", "delivery", "relay"}, bootstrap, port),
    ):
        envelopes = await read_until(reader, len(good), timeout=90)
        delivered = {e["submissionId"] for e in envelopes} & set(accepted)
        assert delivered == good  # every good one, and not the poisoned one

    letters = wiring(intake_settings(port)).dead_letters(None)
    (letter,) = [x for x in await letters.waiting(PARKED) if x.submission_id == poisoned]
    assert letter.letter_id.startswith("parked-stage-validation-amtsweg.submissions.received-")
    assert letter.problem == "SealError"
    assert "a sealed part failed its authentication" in letter.detail
    ledger = Ledger(LedgerSettings(data_dir=data_dir))
    try:
        assert [e.event for e in ledger.trail(UUID(poisoned))] == ["Received"]
        assert ledger.get_submission(UUID(sorted(good)[0])).status.value == "dispatched"
    finally:
        ledger.close()
