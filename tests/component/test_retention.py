"""Erasure and the retention job on a SQLite ledger and a vault in a temporary folder."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from events.ledger import Ledger
from events.lifecycle import Status
from events.vault import ContentErasedError, Vault
from services.ops.actions.erasure import erase
from services.ops.actions.retention import RetentionJob, due
from services.ops.readmodels.overview.projector import OverviewProjector
from services.ops.readmodels.overview.rows import SubmissionRow
from services.ops.readmodels.overview.store import overview_store
from services.validation.entries import Retention
from tests.support.factories import BUERGERGELD, sealed_submission, xdomea_sample

RULES = {BUERGERGELD: Retention("SGB X § 84 Abs. 2", {"accepted": 30, "rejected": 14})}
ATTACHMENT = (str(uuid.UUID(int=3)), b"%PDF-1.7 Kontoauszug (synthetic)")


def _accepted(ledger: Ledger, vault: Vault) -> UUID:
    submission = sealed_submission(
        vault, xdomea_sample(), attachments=[ATTACHMENT], chain=ledger.chain_keys
    )
    submission.validate("cat-1", "urn:x")
    submission.route("jc-koeln", "053150000000", "05315", "dir-1")
    reference = vault.put_envelope(submission.id, b'{"deliveryId": "d-1"}')
    submission.dispatch("d-1", "jc-koeln", "amtsweg.delivery.jc-koeln", reference)
    submission.accept("d-1", "AZ-1")
    ledger.save(submission)
    return submission.id


def _rejected(ledger: Ledger, vault: Vault) -> UUID:
    submission = sealed_submission(vault, b"<kaputt/>", chain=ledger.chain_keys)
    submission.reject("cat-1", [{"type": "https://amtsweg.de/problems/schema"}])
    ledger.save(submission)
    return submission.id


def _job(ledger: Ledger, vault: Vault) -> RetentionJob:
    overview = OverviewProjector(ledger, overview_store(ledger.settings))
    return RetentionJob(ledger, vault, overview, RULES)


def test_an_erasure_destroys_the_key_deletes_the_blobs_and_is_recorded_once(
    ledger: Ledger, vault: Vault
) -> None:
    submission_id = _accepted(ledger, vault)
    erased = erase(
        ledger, vault, submission_id, by="dsb", legal_basis="Art. 17 DSGVO", reason="Antrag"
    )
    assert (erased.recorded, erased.key_destroyed, erased.blobs_deleted) == (True, True, 4)
    again = erase(ledger, vault, submission_id, by="dsb", legal_basis="x", reason="y")
    assert again.recorded is False

    submission = ledger.get_submission(submission_id)
    assert submission.content_erased
    assert submission.status is Status.ACCEPTED  # the status stays, without content
    assert ledger.verify(submission_id) is None
    last = ledger.trail(submission_id)[-1]
    assert last.event == "ContentErased"
    assert last.data["destroyed"] == {
        "dataKey": "destroyed",
        "keyEncryptionKey": vault.keys.kek_id,
        "blobs": 4,  # data, attachment, dossier, envelope
    }
    assert str(submission_id) not in set(vault.blobs.groups())
    with pytest.raises(ContentErasedError):
        vault.read(submission_id, submission.data["blob"])
    assert vault.envelope(submission_id, submission.envelope) is None  # the relay skips it


def test_an_erasure_cut_off_after_the_key_is_completed_by_running_it_again(
    ledger: Ledger, vault: Vault
) -> None:
    submission_id = _accepted(ledger, vault)
    vault.keys.destroy(submission_id)  # the crash came right after this
    assert not ledger.get_submission(submission_id).content_erased

    erased = erase(ledger, vault, submission_id, by="dsb", legal_basis="x", reason="y")
    assert (erased.recorded, erased.key_destroyed, erased.blobs_deleted) == (True, False, 4)
    assert ledger.trail(submission_id)[-1].data["destroyed"]["dataKey"] == "destroyed before"
    assert list(vault.blobs.groups()) == []


def test_the_job_erases_what_its_rule_says_is_due_and_nothing_else(
    ledger: Ledger, vault: Vault
) -> None:
    accepted, rejected = _accepted(ledger, vault), _rejected(ledger, vault)
    job = _job(ledger, vault)
    now = datetime.now(UTC)
    assert job.run_once(now + timedelta(days=13)) == []
    [first] = job.run_once(now + timedelta(days=15))  # rejected: 14 days
    assert first.submission_id == rejected
    assert not ledger.get_submission(accepted).content_erased
    [second] = job.run_once(now + timedelta(days=31))  # accepted: 30 days
    assert second.submission_id == accepted
    erasure = ledger.trail(accepted)[-1].data
    assert (erasure["by"], erasure["rule"]) == ("retention", f"{BUERGERGELD}:accepted:30d")
    assert erasure["legal_basis"] == "SGB X § 84 Abs. 2"
    assert job.run_once(now + timedelta(days=400)) == []  # erased ones are not picked again


def test_a_service_or_status_without_a_rule_keeps_its_content(ledger: Ledger, vault: Vault) -> None:
    _accepted(ledger, vault)
    overview = OverviewProjector(ledger, overview_store(ledger.settings))
    job = RetentionJob(ledger, vault, overview, {BUERGERGELD: Retention("x", {"rejected": 1})})
    assert job.run_once(datetime.now(UTC) + timedelta(days=3650)) == []


def test_orphans_of_requests_that_never_became_a_submission_are_swept(
    ledger: Ledger, vault: Vault
) -> None:
    kept = _accepted(ledger, vault)
    orphan = uuid.uuid4()
    vault.put(orphan, b"sealed parts of a refused request")
    job = _job(ledger, vault)
    assert job.sweep_orphans() == 0  # younger than the grace period
    assert job.sweep_orphans(datetime.now(UTC) + timedelta(days=2)) == 1
    assert set(vault.blobs.groups()) == {str(kept)}
    assert not vault.keys.state(orphan).created_at  # no tombstone: it never was a submission


def test_due_compares_each_row_with_its_own_rule() -> None:
    def row(status: str, days_ago: float, leika: str = BUERGERGELD) -> SubmissionRow:
        return SubmissionRow(
            str(uuid.uuid4()), "p", leika, status, None, None, 0.0,
            NOW - days_ago * 86_400, 1, "x", None, False, False,
        )  # fmt: skip

    rows = [row("accepted", 31), row("accepted", 29), row("rejected", 15), row("refused", 99)]
    rows.append(row("accepted", 99, leika="99999999999999"))
    found = [(d.rule, d.legal_basis) for d in due(iter(rows), RULES, NOW)]
    assert found == [
        (f"{BUERGERGELD}:accepted:30d", "SGB X § 84 Abs. 2"),
        (f"{BUERGERGELD}:rejected:14d", "SGB X § 84 Abs. 2"),
    ]


NOW = 1_800_000_000.0
