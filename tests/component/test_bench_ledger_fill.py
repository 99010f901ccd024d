"""``amtsweg bench ledger``'s trails: the real ``verify --all`` holds them intact, and the
ops list shows every one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from events.ledger import Ledger
from events.settings import LedgerSettings
from harness.bench.ledger_fill import LedgerNotEmptyError, fill_ledger
from services.ops.cli.main import app

SUBMISSIONS = 200


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    ledger = Ledger(LedgerSettings(data_dir=tmp_path))
    try:
        filled = fill_ledger(ledger, SUBMISSIONS, chunk=64)
    finally:
        ledger.close()
    assert filled.submissions == SUBMISSIONS
    assert filled.events > 2 * SUBMISSIONS
    return tmp_path


def _amtsweg(data_dir: Path, *arguments: str) -> dict[str, object]:
    env = {
        "AMTSWEG_DATA_DIR": str(data_dir),
        "AMTSWEG_LEDGER_URL": None,
        "AMTSWEG_DEVELOPMENT": "true",
        "AMTSWEG_OPERATOR": "root",
        "AMTSWEG_OPERATOR_SCOPES": json.dumps({"root": ["*"]}),
        "KAFKA_BOOTSTRAP_SERVERS": None,
    }
    result = CliRunner(env=env).invoke(app, [*arguments, "--json"])
    assert result.exit_code == 0, result.output
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


def test_every_filled_trail_verifies_intact(filled: Path) -> None:
    assert _amtsweg(filled, "verify", "--all") == {"checked": SUBMISSIONS, "broken": []}


def test_the_ops_list_shows_every_filled_submission(filled: Path) -> None:
    listed = _amtsweg(filled, "submissions", "list", "--limit", "1000")
    assert listed["total"] == SUBMISSIONS
    rows = listed["submissions"]
    assert isinstance(rows, list)
    statuses = {row["status"] for row in rows}
    assert {"accepted", "dispatched", "rejected"} <= statuses
    assert len({row["portal_id"] for row in rows}) > 1
    assert len({row["authority_id"] for row in rows}) > 10


def test_a_ledger_that_holds_events_is_not_filled(filled: Path) -> None:
    ledger = Ledger(LedgerSettings(data_dir=filled))
    try:
        with pytest.raises(LedgerNotEmptyError):
            fill_ledger(ledger, 1)
    finally:
        ledger.close()
