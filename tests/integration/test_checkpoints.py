"""Signed checkpoints on SQLite and PostgreSQL: ``amtsweg verify --checkpoint`` finds what an
insider with write access to the ledger's database did after a checkpoint, even where the
chain and the relay's witness were made to agree."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from events.checkpoint import Checkpoint, signed_document
from events.checkpoint_keys import CheckpointSigner, create_key
from events.ledger import Ledger
from events.relay_store import Witness, relay_store
from events.settings import LedgerSettings
from services.ops.cli.main import app
from tests.support.factories import new_submission
from tests.support.ledgers import RawDatabase


@pytest.fixture
def amtsweg(ledger_settings: LedgerSettings, tmp_path: Path) -> CliRunner:
    """``amtsweg`` on the test's ledger, with a checkpoint key and directory of its own."""
    keys = tmp_path / "checkpoint-keys"
    create_key(keys / "signing.jwk.json", keys / "public.jwks.json")
    return CliRunner(
        env={
            "AMTSWEG_DATA_DIR": str(ledger_settings.data_dir),
            "AMTSWEG_LEDGER_URL": ledger_settings.ledger_url,
            "AMTSWEG_LEDGER_SCHEMA": ledger_settings.ledger_schema,
            "AMTSWEG_LEDGER_CHAIN_KEY": None,
            "AMTSWEG_DEVELOPMENT": None,
            "AMTSWEG_KEYSTORE_URL": f"sqlite:///{tmp_path / 'keys.sqlite3'}",
            "AMTSWEG_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
            "AMTSWEG_CHECKPOINT_SIGNING_KEY_FILE": str(keys / "signing.jwk.json"),
            "AMTSWEG_CHECKPOINT_PUBLIC_KEYS_FILE": str(keys / "public.jwks.json"),
        }
    )


def _run(amtsweg: CliRunner, *args: str) -> Result:
    return amtsweg.invoke(app, list(args))


def _findings(amtsweg: CliRunner) -> list[tuple[str, str]]:
    """(kind, subject) of every finding of ``verify --checkpoint``; exit 1 when there are any."""
    result = _run(amtsweg, "verify", "--checkpoint", "--json")
    report = json.loads(result.stdout)
    findings = [(f["kind"], f["subject"]) for f in report["broken"]]
    assert result.exit_code == (1 if findings else 0), result.output
    return findings


def _dispatched(
    ledger: Ledger, submission_id: uuid.UUID | None = None, to: str = "jc"
) -> uuid.UUID:
    submission = new_submission(submission_id)
    ledger.save(submission)
    ledger.execute(submission.id, lambda s: s.validate("cat-1", "urn:x"))
    ledger.execute(submission.id, lambda s: s.route(to, "053150000000", "05315", "dir-1"))
    ledger.execute(submission.id, lambda s: s.dispatch("d-1", to, f"amtsweg.delivery.{to}", {}))
    return submission.id


def _published(ledger: Ledger, settings: LedgerSettings, *ids: uuid.UUID) -> None:
    """Record what the relay would have published: each submission's last event."""
    witnesses = [Witness(str(i), (t := ledger.trail(i)[-1]).version, t.hash) for i in ids]
    relay_store(settings).advance("relay", 0, witnesses)


def _checkpointed(amtsweg: CliRunner) -> dict[str, Any]:
    result = _run(amtsweg, "checkpoint", "write", "--json")
    assert result.exit_code == 0, result.output
    written: dict[str, Any] = json.loads(result.stdout)
    return written


def _delete(raw: RawDatabase, submission_id: uuid.UUID, where: str = "") -> None:
    raw.execute(
        f"DELETE FROM {raw.table} WHERE originator_id = ?{where}", (raw.key(submission_id),)
    )


def _drop_witness(raw: RawDatabase, submission_id: uuid.UUID) -> None:
    raw.execute("DELETE FROM amtsweg_chain_witness WHERE submission_id = ?", (str(submission_id),))


@pytest.fixture
def trails(ledger: Ledger, ledger_settings: LedgerSettings, amtsweg: CliRunner) -> list[uuid.UUID]:
    """Three dispatched submissions, published, under a checkpoint; then one more."""
    ids = [_dispatched(ledger) for _ in range(3)]
    _published(ledger, ledger_settings, *ids)
    written = _checkpointed(amtsweg)
    assert (written["sequence"], written["events"], written["submissions"]) == (1, 12, 3)
    ids.append(_dispatched(ledger))  # after the checkpoint: checked the ordinary way
    return ids


def test_an_untouched_ledger_passes_and_checkpoints_chain(
    amtsweg: CliRunner, ledger: Ledger, trails: list[uuid.UUID]
) -> None:
    assert _findings(amtsweg) == []
    second = _checkpointed(amtsweg)
    assert (second["sequence"], second["events"], second["submissions"]) == (2, 16, 1)
    assert _checkpointed(amtsweg)["written"] is None  # nothing changed
    ledger.execute(trails[0], lambda s: s.accept("d-1", "AZ-1"))
    assert _findings(amtsweg) == []
    result = _run(amtsweg, "verify", "--checkpoint")
    assert result.exit_code == 0, result.output
    assert "checked 4 submission(s) against checkpoint 2" in result.output
    assert "2 checkpoint(s) verified, 0 finding(s)" in result.output


def test_a_deleted_submission_is_found(
    amtsweg: CliRunner, ledger_settings: LedgerSettings, trails: list[uuid.UUID]
) -> None:
    raw = RawDatabase(ledger_settings)
    _delete(raw, trails[1])
    _drop_witness(raw, trails[1])
    assert _run(amtsweg, "verify", "--all").exit_code == 0  # chains and witness see nothing
    assert _findings(amtsweg) == [("submission-deleted", str(trails[1])), ("event-count", "ledger")]


def test_a_trail_truncated_with_its_witness_is_found(
    amtsweg: CliRunner, ledger_settings: LedgerSettings, trails: list[uuid.UUID]
) -> None:
    raw = RawDatabase(ledger_settings)
    _delete(raw, trails[0], " AND originator_version >= 3")
    _drop_witness(raw, trails[0])
    assert _run(amtsweg, "verify", str(trails[0])).exit_code == 0  # undetected without them
    findings = _findings(amtsweg)
    assert findings == [("trail-truncated", str(trails[0])), ("event-count", "ledger")]
    report = json.loads(_run(amtsweg, "verify", "--checkpoint", "--json").stdout)
    assert "the checkpoint recorded event 4, the ledger ends at 2" in report["broken"][0]["problem"]


def test_an_edited_event_is_found(
    amtsweg: CliRunner, ledger_settings: LedgerSettings, trails: list[uuid.UUID]
) -> None:
    raw = RawDatabase(ledger_settings)
    select = f"SELECT state FROM {raw.table} WHERE originator_id = ? AND originator_version = 3"
    ((state,),) = raw.execute(select, (raw.key(trails[2]),))
    document = json.loads(bytes(state))
    document["authority_id"] = "someone-else"
    raw.execute(
        f"UPDATE {raw.table} SET state = ? WHERE originator_id = ? AND originator_version = 3",
        (json.dumps(document).encode(), raw.key(trails[2])),
    )
    assert _findings(amtsweg) == [("event-edited", str(trails[2]))]


def test_a_trail_rewritten_consistently_is_found(
    amtsweg: CliRunner, ledger: Ledger, ledger_settings: LedgerSettings, trails: list[uuid.UUID]
) -> None:
    """Whoever holds the chain key (here: an unkeyed chain) writes a new, valid trail
    under the same id, routed elsewhere, and drops the witness: only the checkpoint knows."""
    raw = RawDatabase(ledger_settings)
    _delete(raw, trails[0])
    _drop_witness(raw, trails[0])
    _dispatched(ledger, trails[0], to="elsewhere")
    assert _run(amtsweg, "verify", "--all").exit_code == 0
    assert _findings(amtsweg) == [("event-edited", str(trails[0])), ("event-count", "ledger")]


def test_an_edited_or_forged_checkpoint_is_refused(
    amtsweg: CliRunner, trails: list[uuid.UUID], tmp_path: Path
) -> None:
    folder = tmp_path / "checkpoints"
    (first,) = sorted(folder.iterdir())
    original = first.read_bytes()
    document = json.loads(original)
    document["payload"]["events"] = 11
    first.write_text(json.dumps(document))
    assert ("checkpoint-forged", first.name) in _findings(amtsweg)

    intruder = CheckpointSigner.read(_intruder_key(tmp_path))
    forged = Checkpoint.from_payload({**json.loads(original)["payload"], "kid": intruder.kid})
    first.write_bytes(signed_document(forged, intruder.sign))
    report = json.loads(_run(amtsweg, "verify", "--checkpoint", "--json").stdout)
    assert report["broken"][0]["kind"] == "checkpoint-forged"
    assert "known key" in report["broken"][0]["problem"]
    refused = _run(amtsweg, "checkpoint", "write")  # nothing is chained onto a forged one
    assert refused.exit_code == 1
    assert "does not verify" in refused.output

    first.write_bytes(original)
    assert _findings(amtsweg) == []
    first.unlink()
    assert ("checkpoint-missing", str(folder)) in _findings(amtsweg)


def _intruder_key(tmp_path: Path) -> Path:
    path = tmp_path / "intruder" / "signing.jwk.json"
    create_key(path, tmp_path / "intruder" / "public.jwks.json")
    return path


def test_reordered_events_are_found(
    amtsweg: CliRunner, ledger_settings: LedgerSettings, trails: list[uuid.UUID]
) -> None:
    raw = RawDatabase(ledger_settings)
    for old, new in ((2, 99), (3, 2), (99, 3)):
        raw.execute(
            f"UPDATE {raw.table} SET originator_version = ? "
            "WHERE originator_id = ? AND originator_version = ?",
            (new, raw.key(trails[1]), old),
        )
    assert _findings(amtsweg) == [("events-reordered-or-removed", str(trails[1]))]
