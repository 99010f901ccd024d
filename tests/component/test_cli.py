"""The ops CLI (``amtsweg events show``, ``amtsweg verify``) on a SQLite ledger."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from uuid import UUID

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from events.ledger import Ledger
from events.settings import LedgerSettings
from services.ops.cli import main as cli
from services.ops.cli import support as cli_support
from services.ops.cli.main import app
from tests.support.factories import new_submission
from tests.support.ledgers import RawDatabase

EVENTS = ["Received", "Validated", "Routed", "Dispatched"]


@pytest.fixture
def amtsweg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose ``amtsweg`` uses the ledger in ``tmp_path`` (the ``ledger`` fixture).

    The console is wide, so no line of the output is wrapped, whatever the terminal.
    """
    monkeypatch.setattr(cli, "console", Console(width=200))
    monkeypatch.setattr(cli_support, "console", Console(width=200))
    return CliRunner(
        env={
            "AMTSWEG_DATA_DIR": str(tmp_path),
            "AMTSWEG_LEDGER_URL": None,
            "AMTSWEG_LEDGER_CHAIN_KEY": None,
        }
    )


def _dispatched(ledger: Ledger) -> UUID:
    submission = new_submission()
    ledger.save(submission)
    ledger.execute(submission.id, lambda s: s.validate("catalog-1", "urn:x"))
    ledger.execute(submission.id, lambda s: s.route("jc", "053150000000", "05315", "dir-1"))
    ledger.execute(submission.id, lambda s: s.dispatch("d-1", "jc", "amtsweg.delivery.jc", {}))
    return submission.id


def _tamper(tmp_path: Path, submission_id: UUID, version: int) -> None:
    """Edit one stored event's content in the database, leaving its recorded hash."""
    raw = RawDatabase(LedgerSettings(data_dir=tmp_path))
    select = f"SELECT state FROM {raw.table} WHERE originator_id = ? AND originator_version = ?"
    ((state,),) = raw.execute(select, (raw.key(submission_id), version))
    document = json.loads(bytes(state))
    document["authority_id"] = "someone-else"
    raw.execute(
        f"UPDATE {raw.table} SET state = ? WHERE originator_id = ? AND originator_version = ?",
        (json.dumps(document).encode(), raw.key(submission_id), version),
    )


def _run(amtsweg: CliRunner, *args: str) -> Result:
    return amtsweg.invoke(app, list(args))


def test_events_show_prints_the_trail_in_order(amtsweg: CliRunner, ledger: Ledger) -> None:
    submission_id = _dispatched(ledger)
    result = _run(amtsweg, "events", "show", str(submission_id))
    assert result.exit_code == 0, result.output
    assert str(submission_id) in result.output
    trail = ledger.trail(submission_id)
    positions = [result.output.index(entry.hash[:12]) for entry in trail]
    assert positions == sorted(positions)
    for entry, start in zip(trail, positions, strict=True):
        line = result.output[result.output.rindex("\n", 0, start) : start]
        assert entry.event in line


def test_events_show_json_is_the_whole_trail(amtsweg: CliRunner, ledger: Ledger) -> None:
    submission_id = _dispatched(ledger)
    result = _run(amtsweg, "events", "show", str(submission_id), "--json")
    assert result.exit_code == 0, result.output
    trail = json.loads(result.stdout)
    assert [event["version"] for event in trail] == [1, 2, 3, 4]
    assert [event["event"] for event in trail] == EVENTS
    assert [event["prev_hash"] for event in trail[1:]] == [event["hash"] for event in trail[:-1]]
    assert trail[0]["data"]["portal_id"] == "portal-a"
    assert trail[2]["data"]["authority_id"] == "jc"


def test_events_show_of_an_unknown_submission_fails(amtsweg: CliRunner, ledger: Ledger) -> None:
    _dispatched(ledger)
    unknown = uuid.uuid4()
    for extra in ([], ["--json"]):
        result = _run(amtsweg, "events", "show", str(unknown), *extra)
        assert result.exit_code == 1
        assert str(unknown) in result.output


def test_verify_passes_an_intact_chain(amtsweg: CliRunner, ledger: Ledger) -> None:
    submission_id = _dispatched(ledger)
    result = _run(amtsweg, "verify", str(submission_id))
    assert result.exit_code == 0, result.output
    assert "checked 1 submission(s), 0 broken" in result.output
    assert "BROKEN" not in result.output


def test_verify_names_the_edited_event(amtsweg: CliRunner, ledger: Ledger, tmp_path: Path) -> None:
    intact = _dispatched(ledger)
    edited = _dispatched(ledger)
    _tamper(tmp_path, edited, version=3)

    one = _run(amtsweg, "verify", str(edited))
    assert one.exit_code == 1
    assert f"BROKEN {edited}: event 3:" in one.output

    everything = _run(amtsweg, "verify", "--all")
    assert everything.exit_code == 1
    assert f"BROKEN {edited}: event 3:" in everything.output
    assert str(intact) not in everything.output
    assert "checked 2 submission(s), 1 broken" in everything.output

    report = _run(amtsweg, "verify", "--all", "--json")
    assert report.exit_code == 1
    document = json.loads(report.stdout)
    assert document["checked"] == 2
    assert [(b["submissionId"], b["problem"][:8]) for b in document["broken"]] == [
        (str(edited), "event 3:")
    ]

    assert _run(amtsweg, "verify", str(intact)).exit_code == 0


def test_verify_of_an_unknown_submission_fails(amtsweg: CliRunner, ledger: Ledger) -> None:
    _dispatched(ledger)
    unknown = uuid.uuid4()
    result = _run(amtsweg, "verify", str(unknown))
    assert result.exit_code == 1
    assert f"BROKEN {unknown}: no such submission" in result.output


@pytest.mark.parametrize("args", [[], ["--all", str(uuid.uuid4())]], ids=["neither", "both"])
def test_verify_needs_either_an_id_or_all(
    amtsweg: CliRunner, ledger: Ledger, args: list[str]
) -> None:
    _dispatched(ledger)
    result = _run(amtsweg, "verify", *args)
    assert result.exit_code == 2
    assert "give a submission id or --all" in result.output
