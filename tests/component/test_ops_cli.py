"""Operations commands on a SQLite ledger: timeline, lists, rebuild, replay, redeliver, dlq."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from events.ledger import Ledger
from events.submission import Submission
from events.vault import Vault
from services.ops.actions.access_log import AccessQuery, Channel, Read, access_log
from services.ops.cli import main as cli
from services.ops.cli import support as cli_support
from services.ops.cli.main import app
from tests.support.authority import KOELN as KOELN_JOBCENTER
from tests.support.authority import directory_file, encryption_key, public
from tests.support.factories import new_submission, sealed_submission, xdomea_sample

KOELN = "053150000000"


@pytest.fixture
def amtsweg(tmp_path: Path, vault: Vault, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """``amtsweg`` on the ledger and the vault in ``tmp_path``, no broker, a wide console.

    The vault the commands open (KEK file, key store, blob store) is the ``vault`` fixture's.
    """
    monkeypatch.setattr(cli, "console", Console(width=250))
    monkeypatch.setattr(cli_support, "console", Console(width=250))
    folder = tmp_path / "vault"
    return CliRunner(
        env={
            "AMTSWEG_DATA_DIR": str(tmp_path),
            "AMTSWEG_LEDGER_URL": None,
            "AMTSWEG_LEDGER_CHAIN_KEY": None,
            "AMTSWEG_DEVELOPMENT": None,
            "AMTSWEG_KEK_FILE": str(folder / "kek.json"),
            "AMTSWEG_KEYSTORE_URL": f"sqlite:///{folder / 'keys.sqlite3'}",
            "AMTSWEG_BLOB_URL": (folder / "blobs").as_uri(),
            "AMTSWEG_ROUTING_DIRECTORY": None,
            "KAFKA_BOOTSTRAP_SERVERS": None,
            "AMTSWEG_OPERATOR": "erika",
        }
    )


def _run(amtsweg: CliRunner, *args: str, env: dict[str, str] | None = None) -> Result:
    return amtsweg.invoke(app, list(args), env=env)


def _keyed_directory(tmp_path: Path) -> dict[str, str]:
    """The bundled directory with Köln's encryption key registered (``env`` of ``_run``)."""
    keys = {"keys": {"encryption": public(encryption_key())}}
    return {"AMTSWEG_ROUTING_DIRECTORY": str(directory_file(tmp_path, {KOELN_JOBCENTER: keys}))}


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    assert result.stdout, result.output
    return json.loads(result.stdout)


def _events(ledger: Ledger, submission_id: UUID) -> list[str]:
    return [entry.event for entry in ledger.trail(submission_id)]


def _save(ledger: Ledger, submission: Submission) -> UUID:
    ledger.save(submission)
    return submission.id


def _dispatched(
    ledger: Ledger, vault: Vault, portal: str = "portal-a", delivery: str = "d-1"
) -> UUID:
    """Dispatched with a reference to an envelope sealed in the vault (as delivery does)."""
    submission = new_submission(portal_id=portal, chain=ledger.chain_keys)
    submission.validate("cat-1", "urn:x")
    submission.route("jobcenter-koeln", KOELN, "05315", "dir-1")
    envelope = vault.put_envelope(submission.id, json.dumps({"deliveryId": delivery}).encode())
    submission.dispatch(delivery, "jobcenter-koeln", "amtsweg.delivery.jobcenter-koeln", envelope)
    return _save(ledger, submission)


def _unroutable(ledger: Ledger, vault: Vault, version: str = "dir-old") -> UUID:
    """Unroutable with ``version``; the portal's hint (Köln) is in the sealed dossier."""
    submission = sealed_submission(
        vault, xdomea_sample(), routing={"ars": KOELN}, chain=ledger.chain_keys
    )
    submission.validate("cat-1", "urn:x")
    submission.mark_unroutable("no-competence", "nobody then", version)
    return _save(ledger, submission)


def _routed(ledger: Ledger, vault: Vault) -> UUID:
    """Routed to Jobcenter Köln, not yet dispatched (its data sealed in the vault)."""
    submission = sealed_submission(vault, b"<antrag/>", chain=ledger.chain_keys)
    submission.validate("cat-1", "urn:x")
    submission.route("jobcenter-koeln", KOELN, "05315", "dir-1")
    return _save(ledger, submission)


def _failed_callback(ledger: Ledger, vault: Vault) -> UUID:
    delivery = f"d-{uuid.uuid4()}"
    submission_id = _dispatched(ledger, vault, delivery=delivery)
    ledger.execute(submission_id, lambda s: s.record_callback(delivery, 0, 8, failure="HTTP 503"))
    return submission_id


def test_events_show_is_a_timeline_with_actors(
    amtsweg: CliRunner, ledger: Ledger, vault: Vault
) -> None:
    submission_id = _dispatched(ledger, vault)
    result = _run(amtsweg, "events", "show", str(submission_id))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for event, actor in [
        ("Received", "portal portal-a"),
        ("Validated", "validation"),
        ("Routed", "routing"),
        ("Dispatched", "delivery"),
    ]:
        assert any(event in line and actor in line for line in lines), (event, result.output)
    trail = _json(_run(amtsweg, "events", "show", str(submission_id), "--json"))
    assert [e["actor"] for e in trail][:2] == ["portal portal-a", "validation"]
    assert "jobcenter-koeln" in trail[2]["details"]
    envelope = ledger.get_submission(submission_id).envelope
    assert envelope["blob"] not in trail[3]["details"]  # the envelope is not shown
    assert envelope["sha256"] not in trail[3]["details"]


def test_submissions_list_filters_from_the_read_model(
    amtsweg: CliRunner, ledger: Ledger, vault: Vault
) -> None:
    dispatched = _dispatched(ledger, vault, portal="portal-b")
    unroutable = _unroutable(ledger, vault)
    received = _save(ledger, new_submission(chain=ledger.chain_keys))

    everything = _json(_run(amtsweg, "submissions", "list", "--json"))
    assert everything["total"] == 3
    assert {s["submission_id"] for s in everything["submissions"]} == {
        str(dispatched),
        str(unroutable),
        str(received),
    }
    by_status = _json(_run(amtsweg, "submissions", "list", "--status", "unroutable", "--json"))
    assert [s["submission_id"] for s in by_status["submissions"]] == [str(unroutable)]
    assert by_status["submissions"][0]["problem"] == "no-competence"
    by_portal = _json(_run(amtsweg, "submissions", "list", "--portal", "portal-b", "--json"))
    assert [s["submission_id"] for s in by_portal["submissions"]] == [str(dispatched)]
    by_authority = _json(
        _run(amtsweg, "submissions", "list", "--authority", "jobcenter-koeln", "--json")
    )
    assert by_authority["total"] == 1
    by_service = _json(
        _run(
            amtsweg,
            "submissions",
            "list",
            "--service",
            "urn:de:fim:leika:leistung:99900000000101",
            "--json",
        )
    )
    assert by_service["total"] == 3
    future = _json(_run(amtsweg, "submissions", "list", "--since", "2999-01-01", "--json"))
    assert future["total"] == 0
    recent = _json(_run(amtsweg, "submissions", "list", "--since", "1h", "--json"))
    assert recent["total"] == 3

    table = _run(amtsweg, "submissions", "list", "--status", "dispatched")
    assert str(dispatched) in table.output
    assert str(unroutable) not in table.output

    counts = _json(_run(amtsweg, "submissions", "counts", "--json"))
    assert counts == {"dispatched": 1, "unroutable": 1, "received": 1}


def test_the_list_follows_new_events(amtsweg: CliRunner, ledger: Ledger) -> None:
    submission = new_submission(chain=ledger.chain_keys)
    _save(ledger, submission)
    assert _json(_run(amtsweg, "submissions", "counts", "--json")) == {"received": 1}
    ledger.execute(submission.id, lambda s: s.validate("cat-1", "urn:x"))
    assert _json(_run(amtsweg, "submissions", "counts", "--json")) == {"validated": 1}


def test_rebuild_reads_the_ledger_again(amtsweg: CliRunner, ledger: Ledger, vault: Vault) -> None:
    _dispatched(ledger, vault)
    failed = _failed_callback(ledger, vault)
    _unroutable(ledger, vault)
    assert _json(_run(amtsweg, "submissions", "counts", "--json"))["dispatched"] == 2
    rebuilt = _json(_run(amtsweg, "rebuild", "--json"))
    head = 4 + len(_events(ledger, failed)) + 3  # dispatched, failed, unroutable
    assert rebuilt["position"] == head
    assert rebuilt["events"] == {"submissions": head, "deliveries": head}
    assert rebuilt["statuses"] == {"dispatched": 2, "unroutable": 1}
    again = _json(_run(amtsweg, "rebuild", "--json"))
    assert again["statuses"] == rebuilt["statuses"]  # counted once, not twice
    letters = _json(_run(amtsweg, "dlq", "list", "--kind", "delivery", "--json"))
    assert [letter["submissionId"] for letter in letters] == [str(failed)]


def test_replay_routing_dry_run_then_for_real(
    amtsweg: CliRunner, ledger: Ledger, vault: Vault
) -> None:
    submission_id = _unroutable(ledger, vault)
    before = _events(ledger, submission_id)

    dry = _json(
        _run(
            amtsweg,
            "replay",
            "routing",
            str(submission_id),
            "--against",
            "current",
            "--dry-run",
            "--json",
        )
    )
    (plan,) = dry["results"]
    assert plan["outcome"] == "changed"
    assert plan["recorded"] == "unroutable: no-competence"
    assert plan["decision"].startswith("routed to ")
    assert plan["events"] == ["Replayed", "Routed"]
    assert plan["written"] is None
    assert _events(ledger, submission_id) == before  # a dry run records nothing

    args = ["replay", "routing", str(submission_id), "--against", "current"]
    args += ["--reason", "directory fixed", "--request-id", "req-1", "--json"]
    done = _json(_run(amtsweg, *args))
    assert done["results"][0]["written"] is True
    assert _events(ledger, submission_id) == [*before, "Replayed", "Routed"]
    replayed = ledger.trail(submission_id)[-2].data
    assert replayed["actor"] == "erika"
    assert replayed["reason"] == "directory fixed"
    assert replayed["outcome"] == "changed"
    assert replayed["against"] == "current"
    assert ledger.get_submission(submission_id).status == "routed"

    again = _json(_run(amtsweg, *args))  # the same request again: nothing new
    assert again["results"][0]["written"] is False
    assert _events(ledger, submission_id) == [*before, "Replayed", "Routed"]

    checked = _json(
        _run(amtsweg, "replay", "routing", str(submission_id), "--reason", "check", "--json")
    )
    assert checked["results"][0]["outcome"] == "unchanged"
    assert _events(ledger, submission_id)[-1] == "Replayed"
    assert ledger.get_submission(submission_id).status == "routed"


def test_replay_against_a_recorded_version_nobody_kept_fails(
    amtsweg: CliRunner, ledger: Ledger, vault: Vault
) -> None:
    submission_id = _unroutable(ledger, vault, version="dir-gone+0000000000000000")
    result = _run(amtsweg, "replay", "routing", str(submission_id), "--reason", "x")
    assert result.exit_code == 1
    assert "dir-gone" in result.output
    assert _events(ledger, submission_id)[-1] == "Unroutable"


def test_replay_validation_decides_a_waiting_submission(
    amtsweg: CliRunner, ledger: Ledger, vault: Vault
) -> None:
    waiting = _save(ledger, sealed_submission(vault, xdomea_sample(), chain=ledger.chain_keys))
    never = _unroutable(ledger, vault)

    result = _json(
        _run(amtsweg, "replay", "validation", "--status", "received", "--reason", "stuck", "--json")
    )
    (plan,) = result["results"]
    assert plan["submissionId"] == str(waiting)
    assert plan["outcome"] == "decided"
    assert _events(ledger, waiting) == ["Received", "Replayed", "Validated"]
    assert _events(ledger, never)[-1] == "Unroutable"

    routing = _run(amtsweg, "replay", "routing", str(waiting), str(never), "--dry-run", "--json")
    assert routing.exit_code == 1  # one of them failed: the other is still reported
    first, second = json.loads(routing.stdout)["results"]
    assert first["outcome"] == "decided"  # validated: routing waits for it
    assert "dir-old" in second["error"]  # decided with a version nobody kept


def test_replay_needs_a_selection_and_a_reason(
    amtsweg: CliRunner, ledger: Ledger, vault: Vault
) -> None:
    _unroutable(ledger, vault)
    assert _run(amtsweg, "replay", "routing", "--reason", "x").exit_code == 2
    assert _run(amtsweg, "replay", "routing", "--all").exit_code == 2


def test_redeliver_records_a_new_notice(amtsweg: CliRunner, ledger: Ledger, vault: Vault) -> None:
    submission_id = _dispatched(ledger, vault)
    answer = _json(_run(amtsweg, "redeliver", str(submission_id), "--reason", "lost", "--json"))
    assert answer["deliveryId"] == "d-1"
    assert answer["notice"] == 1
    assert answer["recorded"] is True
    assert _events(ledger, submission_id)[-1] == "Redelivered"
    assert ledger.trail(submission_id)[-1].data["actor"] == "erika"

    ledger.execute(submission_id, lambda s: s.accept("d-1", "AZ-1"))
    refused = _run(amtsweg, "redeliver", str(submission_id), "--reason", "again")
    assert refused.exit_code == 1
    assert "no delivery awaits a receipt" in refused.output


def test_delivery_dead_letters_retry_and_drop(
    amtsweg: CliRunner, ledger: Ledger, vault: Vault
) -> None:
    first = _failed_callback(ledger, vault)
    second = _failed_callback(ledger, vault)
    listed = _json(_run(amtsweg, "dlq", "list", "--json"))  # no broker: deliveries only
    ids = {letter["submissionId"]: letter["letterId"] for letter in listed}
    assert set(ids) == {str(first), str(second)}

    retried = _run(amtsweg, "dlq", "retry", ids[str(first)], "--reason", "endpoint fixed")
    assert retried.exit_code == 0, retried.output
    assert _events(ledger, first)[-1] == "CallbackRequeued"
    dropped = _run(amtsweg, "dlq", "drop", ids[str(second)], "--reason", "phoned them")
    assert dropped.exit_code == 0, dropped.output
    assert _events(ledger, second)[-1] == "DeliveryFailed"  # a drop is no ledger event

    assert _json(_run(amtsweg, "dlq", "list", "--json")) == []
    again = _run(amtsweg, "dlq", "drop", ids[str(second)], "--reason", "twice")
    assert again.exit_code == 1
    assert "dropped by erika" in again.output


def test_replay_delivery_dispatches_a_routed_submission_once(
    amtsweg: CliRunner, ledger: Ledger, vault: Vault, tmp_path: Path
) -> None:
    submission_id = _routed(ledger, vault)
    keyed = _keyed_directory(tmp_path)

    first = _json(
        _run(
            amtsweg,
            *("replay", "delivery", str(submission_id), "--reason", "stuck", "--json"),
            env=keyed,
        )
    )
    assert first["results"][0]["outcome"] == "decided"
    assert _events(ledger, submission_id)[-2:] == ["Replayed", "Dispatched"]
    dispatched = ledger.get_submission(submission_id)
    delivery_id = dispatched.delivery_id
    assert delivery_id is not None
    envelope = vault.envelope(submission_id, dispatched.envelope)  # sealed by the command
    assert envelope is not None
    assert json.loads(envelope)["deliveryId"] == delivery_id

    second = _json(
        _run(
            amtsweg,
            *("replay", "delivery", str(submission_id), "--reason", "check", "--json"),
            env=keyed,
        )
    )
    (plan,) = second["results"]
    assert plan["outcome"] == "unchanged"
    assert delivery_id in plan["decision"]
    assert _events(ledger, submission_id).count("Dispatched") == 1


def test_replay_delivery_without_a_key_withholds_and_after_the_key_dispatches(
    amtsweg: CliRunner, ledger: Ledger, vault: Vault, tmp_path: Path
) -> None:
    submission_id = _routed(ledger, vault)  # the bundled directory has no key for Köln

    withheld = _json(
        _run(amtsweg, "replay", "delivery", str(submission_id), "--reason", "stuck", "--json")
    )
    (plan,) = withheld["results"]
    assert plan["outcome"] == "decided"
    assert plan["decision"] == "withheld from jobcenter-koeln: no-encryption-key"
    assert _events(ledger, submission_id)[-2:] == ["Replayed", "Withheld"]
    assert ledger.get_submission(submission_id).status == "withheld"
    counts = _json(_run(amtsweg, "submissions", "counts", "--json"))
    assert counts == {"withheld": 1}

    args = ["replay", "delivery", str(submission_id), "--against", "current"]
    done = _json(
        _run(amtsweg, *args, "--reason", "key registered", "--json", env=_keyed_directory(tmp_path))
    )
    (plan,) = done["results"]
    assert plan["outcome"] == "changed"
    assert plan["recorded"] == "withheld from jobcenter-koeln: no-encryption-key"
    assert plan["written"] is True
    assert _events(ledger, submission_id)[-3:] == ["Withheld", "Replayed", "Dispatched"]
    assert ledger.get_submission(submission_id).status == "dispatched"
    assert ledger.verify(submission_id) is None


def test_reads_are_in_the_access_log_with_operator_and_purpose(
    amtsweg: CliRunner, ledger: Ledger, vault: Vault
) -> None:
    submission_id = _dispatched(ledger, vault)
    _unroutable(ledger, vault)
    shown = _run(amtsweg, "events", "show", str(submission_id), "--purpose", "Rückfrage Amt")
    assert shown.exit_code == 0, shown.output
    assert _run(amtsweg, "verify", str(submission_id), "--purpose", "audit").exit_code == 0
    for command in (["submissions", "list"], ["deliveries"], ["dlq", "list"], ["triage", "list"]):
        _json(_run(amtsweg, *command, "--json"))
    assert _run(amtsweg, "events", "show", str(uuid.uuid4())).exit_code == 1  # nothing shown
    _json(_run(amtsweg, "submissions", "counts", "--json"))  # figures only: not recorded

    entries = access_log(ledger.settings).entries(AccessQuery())
    assert [(e.what, e.submission_id, e.purpose) for e in reversed(entries)] == [
        ("trail", str(submission_id), "Rückfrage Amt"),
        ("verify", str(submission_id), "audit"),
        ("list", None, "not stated"),
        ("deliveries", None, "not stated"),
        ("dead-letters", None, "not stated"),
        ("triage", None, "not stated"),
    ]
    assert {(e.operator, e.channel) for e in entries} == {("erika", "cli")}  # $AMTSWEG_OPERATOR


def test_access_log_command_filters_and_is_recorded(
    amtsweg: CliRunner, ledger: Ledger, vault: Vault
) -> None:
    first, second = (
        _dispatched(ledger, vault, delivery="d-1"),
        _dispatched(ledger, vault, delivery="d-2"),
    )
    log = access_log(ledger.settings)
    log.record("max", Read.TRAIL, channel=Channel.HTTP, purpose="Widerspruch", submission_id=first)
    assert _run(amtsweg, "events", "show", str(second)).exit_code == 0

    of_first = _json(_run(amtsweg, "access-log", "--submission", str(first), "--json"))
    assert [(e["operator"], e["purpose"], e["channel"]) for e in of_first] == [
        ("max", "Widerspruch", "http")
    ]
    by_erika = _json(_run(amtsweg, "access-log", "--operator", "erika", "--json"))
    assert [(e["what"], e["submissionId"]) for e in by_erika] == [
        ("access-log", str(first)),  # the query before this one
        ("trail", str(second)),
    ]
    assert _json(_run(amtsweg, "access-log", "--since", "2999-01-01", "--json")) == []
    assert _json(_run(amtsweg, "access-log", "--until", "2000-01-01", "--json")) == []
    assert len(_json(_run(amtsweg, "access-log", "--limit", "1", "--json"))) == 1
    table = _run(amtsweg, "access-log", "--purpose", "Auskunft nach Art. 15 DSGVO")
    assert table.exit_code == 0, table.output
    assert "Widerspruch" in table.output
    last = log.entries(AccessQuery(limit=1))[0]
    assert (last.what, last.operator, last.channel) == ("access-log", "erika", "cli")
    assert last.purpose == "Auskunft nach Art. 15 DSGVO"
