"""The access log beside a SQLite ledger: entries, filters, and the database's refusals."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator

import pytest

from events.settings import LedgerSettings
from services.ops.actions.access_log import (
    NOT_STATED,
    AccessLog,
    AccessQuery,
    Channel,
    Read,
    access_log,
)
from tests.support.ledgers import RawDatabase


@pytest.fixture
def log(ledger_settings: LedgerSettings) -> Iterator[AccessLog]:
    opened = access_log(ledger_settings)
    yield opened
    opened.close()


def test_an_entry_holds_who_what_why_how_and_when(log: AccessLog) -> None:
    submission_id = uuid.uuid4()
    written = log.record(
        "erika", Read.TRAIL, channel=Channel.HTTP, purpose="Anfrage", submission_id=submission_id
    )
    listed = log.record("max", Read.LIST, channel=Channel.CLI, purpose="  ")
    assert log.entries(AccessQuery()) == [listed, written]  # newest first
    assert (written.operator, written.submission_id, written.what) == (
        "erika",
        str(submission_id),
        "trail",
    )
    assert (written.purpose, written.channel) == ("Anfrage", "http")
    assert (listed.submission_id, listed.purpose, listed.channel) == (None, NOT_STATED, "cli")
    assert listed.at >= written.at
    assert listed.as_json()["at"].endswith("+00:00")


def test_the_database_refuses_update_and_delete(
    log: AccessLog, ledger_settings: LedgerSettings
) -> None:
    log.record("erika", Read.TRAIL, channel=Channel.CLI, submission_id=uuid.uuid4())
    database = RawDatabase(ledger_settings)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        database.execute("UPDATE amtsweg_access_log SET operator = 'nobody'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        database.execute("DELETE FROM amtsweg_access_log")
    assert [entry.operator for entry in log.entries(AccessQuery())] == ["erika"]


def test_entries_are_filtered_by_submission_operator_time_and_limit(
    log: AccessLog, ledger_settings: LedgerSettings
) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    early = log.record("erika", Read.TRAIL, channel=Channel.HTTP, submission_id=first)
    middle = log.record("max", Read.VERIFY, channel=Channel.CLI, submission_id=first)
    late = log.record("erika", Read.TRAIL, channel=Channel.CLI, submission_id=second)

    def shown(query: AccessQuery) -> list[str]:
        return [entry.entry for entry in log.entries(query)]

    assert shown(AccessQuery(submission_id=str(first))) == [middle.entry, early.entry]
    assert shown(AccessQuery(operator="erika")) == [late.entry, early.entry]
    assert shown(AccessQuery(str(second), "erika")) == [late.entry]
    assert shown(AccessQuery(since=middle.at)) == [late.entry, middle.entry]
    assert shown(AccessQuery(until=middle.at)) == [early.entry]
    assert shown(AccessQuery(limit=1)) == [late.entry]
    assert shown(AccessQuery(operator="nobody")) == []
    again = access_log(ledger_settings)  # opening it again keeps table and triggers
    try:
        assert len(again.entries(AccessQuery())) == 3
    finally:
        again.close()
