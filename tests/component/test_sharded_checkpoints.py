"""``checkpoint write`` and ``verify --checkpoint`` on a SQLite ledger of two shards: one
chain of checkpoints per shard, and an event deleted in shard 1 is found."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from uuid import UUID

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from events.settings import LedgerSettings
from events.sharded_ledger import open_ledger
from services.ops.cli import support as cli_support
from services.ops.cli.main import app
from tests.support.factories import new_submission

IN_SHARD_0 = UUID(int=2)
IN_SHARD_1 = UUID(int=3)


@pytest.fixture
def amtsweg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """``amtsweg`` on a two-shard ledger in ``tmp_path``, in development mode."""
    monkeypatch.setattr(cli_support, "console", Console(width=250))
    return CliRunner(
        env={
            "AMTSWEG_DATA_DIR": str(tmp_path),
            "AMTSWEG_LEDGER_URL": None,
            "AMTSWEG_LEDGER_SHARDS": "2",
            "AMTSWEG_DEVELOPMENT": "1",
            "AMTSWEG_CHECKPOINT_DIR": None,
            "AMTSWEG_CHECKPOINT_SIGNING_KEY_FILE": None,
            "AMTSWEG_CHECKPOINT_PUBLIC_KEYS_FILE": None,
        }
    )


def _run(amtsweg: CliRunner, *args: str) -> Result:
    return amtsweg.invoke(app, list(args))


def test_each_shard_has_its_chain_of_checkpoints(amtsweg: CliRunner, tmp_path: Path) -> None:
    ledger = open_ledger(LedgerSettings(data_dir=tmp_path, ledger_shards=2))
    try:
        for submission_id in (IN_SHARD_0, IN_SHARD_1):
            submission = new_submission(submission_id)
            submission.validate("cat-1", "urn:x")
            ledger.save(submission)
    finally:
        ledger.close()

    written = _run(amtsweg, "checkpoint", "write", "--json")
    assert written.exit_code == 0, written.output
    answer = json.loads(written.stdout)
    assert [shard["submissions"] for shard in answer["shards"]] == [1, 1]
    assert Path(answer["shards"][1]["written"]).parent.name == "shard1"

    intact = _run(amtsweg, "verify", "--checkpoint", "--json")
    assert intact.exit_code == 0, intact.output

    with closing(sqlite3.connect(tmp_path / "ledger.shard1.sqlite3")) as lite, lite:
        lite.execute(
            "DELETE FROM stored_events WHERE originator_id = ? AND originator_version = 2",
            (IN_SHARD_1.hex,),
        )
    broken = _run(amtsweg, "verify", "--checkpoint", "--json")
    assert broken.exit_code == 1, broken.output
    assert str(IN_SHARD_1) in broken.stdout
    assert str(IN_SHARD_0) not in broken.stdout
