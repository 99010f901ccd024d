"""FIT-Connect callbacks' table on SQLite and PostgreSQL: sealed secrets, the outbox and
its position follow the ledger and survive a new table object (a restart)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from events.ledger import Ledger
from events.settings import LedgerSettings
from events.vault.kek import LocalKeyFile
from services.fitconnect.callback_table import (
    Callback,
    CallbackTable,
    destination_owner,
    submission_owner,
)
from services.fitconnect.callbacks import NEW_SUBMISSIONS, FitConnectCallbacks
from services.fitconnect.destinations import destination_id
from services.fitconnect.submission_table import Announcement, SubmissionTable
from tests.support.factories import routed_submission

SECRET = "a-callback-secret-of-thirty-two-characters"


class _Unreachable:
    """No callback is sent in these tests."""

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int | None:
        raise AssertionError("nothing is sent here")


def _tables(settings: LedgerSettings, folder: Path) -> tuple[SubmissionTable, CallbackTable]:
    key_file = folder / "kek.json"
    kek = LocalKeyFile.read(key_file) if key_file.exists() else LocalKeyFile.create(key_file)
    path = settings.sqlite_path()
    if path is not None:
        keys = path.parent / "keys.sqlite3"
        return SubmissionTable.sqlite(keys), CallbackTable.sqlite(keys, kek)
    assert settings.ledger_url is not None
    url, schema = settings.ledger_url, settings.ledger_schema
    return SubmissionTable.postgres(url, schema), CallbackTable.postgres(url, schema, kek)


def test_callbacks_are_kept_sealed_replaced_and_removed(ledger: Ledger, tmp_path: Path) -> None:
    _, table = _tables(ledger.settings, tmp_path)
    owner = submission_owner(uuid.uuid4())
    table.set_callback(owner, Callback("https://a.example/cb", SECRET))
    table.set_callback(owner, Callback("https://b.example/cb", SECRET + "-2"))
    table.set_contact("d-1", {"legalName": "Amt"})
    _, reopened = _tables(ledger.settings, tmp_path)

    assert reopened.callback(owner) == Callback("https://b.example/cb", SECRET + "-2")
    assert reopened.callback_url(owner) == "https://b.example/cb"
    assert reopened.contact("d-1") == {"legalName": "Amt"}
    reopened.remove_callback(owner)
    assert table.callback(owner) is None


def test_notices_follow_the_ledger_once_and_come_due_in_time_order(
    ledger: Ledger, tmp_path: Path
) -> None:
    submissions, table = _tables(ledger.settings, tmp_path)
    submission = routed_submission("jc-koeln")
    ledger.save(submission)
    case = str(uuid.uuid4())
    submissions.announce(
        Announcement(
            str(submission.id),
            str(destination_id("jc-koeln")),
            "portal-a",
            case,
            {"name": "Test", "identifier": "urn:de:fim:leika:leistung:1"},
            (),
            None,
        )
    )
    table.set_callback(
        destination_owner(destination_id("jc-koeln")), Callback("https://a.example/cb", SECRET)
    )
    ledger.execute(
        submission.id, lambda s: s.dispatch("d-1", "jc-koeln", "amtsweg.delivery.jc-koeln", {})
    )
    start = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)  # whole seconds: no fraction to sort
    loop = FitConnectCallbacks(ledger, submissions, table, _Unreachable(), clock=start.timestamp)
    queued = loop.queue_batch()
    again = loop.queue_batch()
    _, reopened = _tables(ledger.settings, tmp_path)
    (notice,) = reopened.due(start, 10)
    reopened.attempted(
        notice.notice_id, 1, done=False, due_at=start + timedelta(seconds=0.5), failure="x"
    )

    assert (queued, again) == (4, 0)
    assert reopened.position() == table.position() > 0
    assert notice.body["type"] == NEW_SUBMISSIONS
    assert notice.body["submissions"][0]["caseId"] == case
    assert reopened.due(start, 10) == []
    assert [n.notice_id for n in reopened.due(start + timedelta(seconds=1), 10)] == [
        notice.notice_id
    ]
