"""The access log on SQLite and PostgreSQL: append-only in the database, filtered queries."""

from __future__ import annotations

import sqlite3
import uuid

import psycopg
import pytest

from events.settings import LedgerSettings
from services.ops.actions.access_log import AccessQuery, Channel, Read, access_log
from tests.support.ledgers import RawDatabase

REFUSED = (sqlite3.DatabaseError, psycopg.Error)


def test_the_database_refuses_to_change_or_remove_entries(
    ledger_settings: LedgerSettings,
) -> None:
    log = access_log(ledger_settings)
    try:
        log.record("erika", Read.TRAIL, channel=Channel.HTTP, submission_id=uuid.uuid4())
        database = RawDatabase(ledger_settings)
        statements = ["UPDATE amtsweg_access_log SET purpose = 'later'"]
        statements.append("DELETE FROM amtsweg_access_log")
        if ledger_settings.sqlite_path() is None:
            statements.append("TRUNCATE amtsweg_access_log")
        for statement in statements:
            with pytest.raises(REFUSED, match="append-only"):
                database.execute(statement)
        (entry,) = log.entries(AccessQuery())
        assert (entry.operator, entry.purpose) == ("erika", "not stated")
    finally:
        log.close()


def test_entries_are_filtered_newest_first(ledger_settings: LedgerSettings) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    log = access_log(ledger_settings)
    again = access_log(ledger_settings)  # a second process opening it: table and trigger kept
    try:
        early = log.record("erika", Read.TRAIL, channel=Channel.HTTP, submission_id=first)
        middle = again.record("max", Read.VERIFY, channel=Channel.CLI, submission_id=first)
        late = log.record("erika", Read.LIST, channel=Channel.CLI, purpose="Prüfung")

        def shown(query: AccessQuery) -> list[str]:
            return [entry.entry for entry in again.entries(query)]

        assert shown(AccessQuery(submission_id=str(first))) == [middle.entry, early.entry]
        assert shown(AccessQuery(operator="erika")) == [late.entry, early.entry]
        assert shown(AccessQuery(str(second))) == []
        assert shown(AccessQuery(since=middle.at)) == [late.entry, middle.entry]
        assert shown(AccessQuery(until=middle.at)) == [early.entry]
        assert shown(AccessQuery(limit=2)) == [late.entry, middle.entry]
        assert again.entries(AccessQuery(limit=1))[0] == late
    finally:
        log.close()
        again.close()
