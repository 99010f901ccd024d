"""A service killed with SIGKILL mid-flight and restarted loses nothing and doubles nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from contracts import topics
from deploy.broker import BrokerHandle
from events.ledger import Ledger
from events.lifecycle import Status
from events.settings import LedgerSettings
from tests.support.factories import CHAIN_KEYS_ENV, json_request, xdomea_sample
from tests.support.pipeline import auth, read_until, running, topic_reader

SUBMISSIONS = 40
AUTHORITY = "jobcenter-koeln"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    for name, value in CHAIN_KEYS_ENV.items():  # services outside development need them
        monkeypatch.setenv(name, value)
    return tmp_path


class ServiceProcess:
    """``amtsweg service <name>`` as a child process."""

    def __init__(self, name: str, bootstrap: str, data_dir: Path) -> None:
        self._command = [sys.executable, "-m", "services.ops.cli", "service", name]
        self._env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "AMTSWEG_DATA_DIR": str(data_dir),
            # one message per batch: the kill must come with most submissions still waiting
            "AMTSWEG_STAGE_BATCH_RECORDS": "1",
        }
        self._log = data_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log.open("ab") as log:
            self.process = subprocess.Popen(
                self._command, env=self._env, stdout=log, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


@pytest.fixture
def validation(kafka: BrokerHandle, data_dir: Path) -> Iterator[ServiceProcess]:
    service = ServiceProcess("validation", kafka.bootstrap_servers, data_dir)
    yield service
    if service.process is not None and service.process.poll() is None:
        service.process.kill()


def _statuses(ledger: Ledger, ids: list[str]) -> Counter[Status]:
    return Counter(ledger.get_submission(UUID(i)).status for i in ids)


async def _until(
    ledger: Ledger, ids: list[str], done: Status, minimum: int, timeout: float
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if _statuses(ledger, ids)[done] >= minimum:
            return
        await asyncio.sleep(0.05)


async def test_killed_validation_service_loses_nothing(
    kafka: BrokerHandle, data_dir: Path, validation: ServiceProcess
) -> None:
    document = xdomea_sample()
    ledger = Ledger(LedgerSettings())
    in_process = {"intake", "relay", "routing", "delivery"}
    async with (
        running(in_process, kafka.bootstrap_servers) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as client,
        topic_reader(kafka.bootstrap_servers, topics.delivery_topic(AUTHORITY)) as reader,
    ):
        validation.start()
        answers = await asyncio.gather(
            *(
                client.post(
                    "/v1/submissions",
                    json=json_request(document, routing={"ars": "053150000000"}),
                    headers={**auth(), "Idempotency-Key": f"restart-{n}"},
                )
                for n in range(SUBMISSIONS)
            )
        )
        assert all(a.status_code == 202 for a in answers)
        ids = [a.json()["submissionId"] for a in answers]

        await _until(ledger, ids, Status.DISPATCHED, 1, timeout=120)
        validation.kill()  # mid-flight: some dispatched, the rest not yet validated
        assert _statuses(ledger, ids)[Status.DISPATCHED] < SUBMISSIONS, "kill came too late"
        validation.start()

        await _until(ledger, ids, Status.DISPATCHED, SUBMISSIONS, timeout=180)
        assert _statuses(ledger, ids) == Counter({Status.DISPATCHED: SUBMISSIONS})
        envelopes = await read_until(reader, SUBMISSIONS, timeout=60)
        assert validation.stop() == 0

    for submission_id in ids:
        events = [e.event for e in ledger.trail(UUID(submission_id))]
        assert events == ["Received", "Validated", "Routed", "Dispatched"]
    deliveries = {
        (e["submissionId"], e["deliveryId"]) for e in envelopes if e["submissionId"] in ids
    }
    assert {s for s, _ in deliveries} == set(ids)
    assert len(deliveries) == SUBMISSIONS  # one delivery id per submission
    ledger.close()
