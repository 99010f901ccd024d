"""A rolling upgrade of the validation worker under a stream of submissions loses nothing.

Two releases of one worker in one consumer group: the validation service of an earlier
commit (its whole tree, exported with ``git archive`` and run with ``PYTHONPATH``
pointing at it, in the same virtualenv) validates while submissions keep arriving; the
current tree's validation starts beside it (the group rebalances), then the old one is
stopped (SIGTERM, as a rollout does) while the stream goes on. Every submission is
validated once, dispatched once, and has one delivery on its authority's topic, and
both releases validated some of them. The rest of the pipeline runs in the test.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tarfile
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

OLD_RELEASE = "5bfb9de630f35e4e561bb4e811d2c1524e6aae9e"
"""The last commit before validation checked the applicant's assurance level: its
validation differs from today's in code (services/validation) and in its catalog."""
REPOSITORY = Path(__file__).resolve().parents[2]
AUTHORITY_TOPIC = topics.delivery_topic("jobcenter-koeln")
AFTER_THE_OLD_ONE = 10
"""Submissions sent after the old release has stopped."""


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path / "data"))
    for name, value in CHAIN_KEYS_ENV.items():
        monkeypatch.setenv(name, value)
    return tmp_path / "data"


@pytest.fixture
def old_tree(tmp_path: Path) -> Path:
    """The earlier release's source tree (needs the repository's history, as CI has it)."""
    archive = tmp_path / "old.tar"
    done = subprocess.run(
        ["git", "-C", str(REPOSITORY), "archive", "--format=tar", "-o", str(archive), OLD_RELEASE],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"git archive {OLD_RELEASE} failed (a full clone is needed): {done.stderr}")
    tree = tmp_path / "old"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


class Worker:
    """``amtsweg service validation`` of one release, as a child process."""

    def __init__(self, tree: Path, bootstrap: str, log: Path) -> None:
        self.tree = tree
        self.env = {
            **os.environ,
            "PYTHONPATH": str(tree),
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "AMTSWEG_METRICS_PORT": "0",
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def imports_from(self) -> str:
        """Where this release's child finds the validation package."""
        probe = "import services.validation as v; print(v.__file__)"
        return subprocess.run(
            [sys.executable, "-c", probe],
            env=self.env,
            cwd=self.tree,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.ops.cli", "service", "validation"],
                env=self.env,
                cwd=self.tree,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def ready(self, timeout: float = 180) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while b'"amtsweg.ready"' not in self.log.read_bytes():
            assert self.process is not None
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            assert asyncio.get_running_loop().time() < deadline, "not ready in time"
            await asyncio.sleep(0.2)

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def validated(self) -> set[str]:
        """The submissions this release recorded as validated (from its JSON log)."""
        found = set()
        for line in self.log.read_text().splitlines():
            if not line.startswith("{"):
                continue
            entry = json.loads(line)
            decided = entry.get("event") == "validation.decided"
            if decided and entry.get("outcome") == "validated" and entry.get("changed"):
                found.add(str(entry["submission_id"]))
        return found


@pytest.fixture
def workers(
    kafka: BrokerHandle, data_dir: Path, old_tree: Path, tmp_path: Path
) -> Iterator[tuple[Worker, Worker]]:
    data_dir.mkdir(parents=True, exist_ok=True)
    old = Worker(old_tree, kafka.bootstrap_servers, tmp_path / "validation-old.log")
    new = Worker(REPOSITORY, kafka.bootstrap_servers, tmp_path / "validation-new.log")
    yield old, new
    for worker in (old, new):
        if worker.process is not None and worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait()


def _statuses(ledger: Ledger, ids: list[str]) -> Counter[Status]:
    return Counter(ledger.get_submission(UUID(i)).status for i in ids)


async def _until_dispatched(ledger: Ledger, ids: list[str], count: int, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while _statuses(ledger, ids)[Status.DISPATCHED] < count:
        assert asyncio.get_running_loop().time() < deadline, _statuses(ledger, ids)
        await asyncio.sleep(0.1)


async def _stream(client: httpx.AsyncClient, ids: list[str], stop: asyncio.Event) -> None:
    """Post submissions one after another until ``stop``, then ``AFTER_THE_OLD_ONE`` more."""
    document = xdomea_sample()
    remaining = AFTER_THE_OLD_ONE
    while remaining:
        answer = await client.post(
            "/v1/submissions",
            json=json_request(document, routing={"ars": "053150000000"}),
            headers={**auth(), "Idempotency-Key": f"rolling-{len(ids)}"},
        )
        assert answer.status_code == 202, answer.text
        ids.append(str(answer.json()["submissionId"]))
        remaining -= stop.is_set()
        await asyncio.sleep(0.2)


async def test_two_releases_of_validation_in_one_group_lose_and_double_nothing(
    kafka: BrokerHandle, data_dir: Path, workers: tuple[Worker, Worker]
) -> None:
    old, new = workers
    assert old.imports_from().startswith(str(old.tree))
    assert not new.imports_from().startswith(str(old.tree))
    ledger = Ledger(LedgerSettings())
    ids: list[str] = []
    old_gone = asyncio.Event()
    async with (
        running({"intake", "relay", "routing", "delivery"}, kafka.bootstrap_servers) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as client,
        topic_reader(kafka.bootstrap_servers, AUTHORITY_TOPIC) as reader,
    ):
        old.start()
        await old.ready()
        stream = asyncio.create_task(_stream(client, ids, old_gone))
        await _until_dispatched(ledger, ids, 5, timeout=120)  # the old release at work
        new.start()
        await new.ready()
        assert old.stop() == 0  # the rollout ends the old one while submissions arrive
        old_gone.set()
        await stream
        await _until_dispatched(ledger, ids, len(ids), timeout=180)
        envelopes = await read_until(reader, len(ids), timeout=60)
        assert new.stop() == 0

    assert _statuses(ledger, ids) == Counter({Status.DISPATCHED: len(ids)})
    catalogs: dict[str, str] = {}
    for submission_id in ids:
        trail = ledger.trail(UUID(submission_id))
        assert [e.event for e in trail] == ["Received", "Validated", "Routed", "Dispatched"]
        catalogs[submission_id] = str(trail[1].data["catalog_version"])
    ledger.close()
    deliveries = {
        (e["submissionId"], e["deliveryId"]) for e in envelopes if e["submissionId"] in ids
    }
    assert {s for s, _ in deliveries} == set(ids)
    assert len(deliveries) == len(ids)  # one delivery id per submission
    by_old, by_new = old.validated(), new.validated()
    assert by_old, "the old release validated nothing"
    assert by_new, "the new release validated nothing"
    assert by_old | by_new == set(ids)
    assert not by_old & by_new  # none validated twice
    # the ledger says the same: each release validated against its own catalog
    assert len({catalogs[s] for s in by_old}) == len({catalogs[s] for s in by_new}) == 1
    assert {catalogs[s] for s in by_old} != {catalogs[s] for s in by_new}
