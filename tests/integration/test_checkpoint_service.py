"""The ``checkpoint`` service on the real broker's runner: it signs what the ledger holds."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from deploy.broker import BrokerHandle
from events.checkpoint import fold
from events.checkpoint_keys import PublicKeys
from events.checkpoint_store import CheckpointDirectory
from events.ledger import Ledger
from events.settings import LedgerSettings
from tests.support.factories import new_submission
from tests.support.pipeline import running


@pytest.fixture
def checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checkpoint_keys: Path
) -> CheckpointDirectory:
    """The test's own data dir and checkpoint directory, a checkpoint every 0.2 s."""
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AMTSWEG_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("AMTSWEG_CHECKPOINT_INTERVAL_SECONDS", "0.2")
    return CheckpointDirectory(tmp_path / "checkpoints")


async def _until_written(directory: CheckpointDirectory, count: int) -> None:
    for _ in range(300):
        if len(directory.names()) >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {count} checkpoint(s) in {directory.path}: {directory.names()}")


async def test_the_service_checkpoints_every_change(
    kafka: BrokerHandle, checkpoints: CheckpointDirectory, tmp_path: Path, checkpoint_keys: Path
) -> None:
    ledger = Ledger(LedgerSettings(data_dir=tmp_path))
    try:
        first = new_submission()
        ledger.save(first)
        async with running({"checkpoint"}, kafka.bootstrap_servers):
            await _until_written(checkpoints, 1)
            second, validated = new_submission(), ledger.get_submission(first.id)
            validated.validate("cat-1", "urn:x")
            ledger.save(second, validated)  # one transaction: one more checkpoint
            await _until_written(checkpoints, 2)
    finally:
        ledger.close()
    keys = PublicKeys.read(checkpoint_keys / "public.jwks.json")
    folded = fold(checkpoints.files(), keys.verify)
    assert folded.findings == []
    assert {sid: head.version for sid, head in folded.heads.items()} == {
        str(first.id): 2,
        str(second.id): 1,
    }
    assert folded.latest is not None
    assert folded.latest.events == 3
    assert checkpoints.names() == ["checkpoint-000000000001.json", "checkpoint-000000000002.json"]
