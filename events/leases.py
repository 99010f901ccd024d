"""The lease of a singleton beside the configured ledger (PostgreSQL or SQLite), and who
holds it."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import psycopg

from events.lease import Lease, Tenure
from events.lease_postgres import PostgresLease
from events.lease_sqlite import SQLiteLease
from events.settings import LedgerSettings


def lease_for(settings: LedgerSettings, name: str, holder: str, seconds: float) -> Lease:
    """The lease ``name`` of the configured ledger for ``holder``, ``seconds`` per renewal.

    On SQLite the lease lasts as long as the holding process (a file lock), so ``seconds``
    only paces the renewals there.
    """
    path = settings.sqlite_path()
    if path is not None:
        return SQLiteLease(path, name, holder)
    assert settings.ledger_url is not None
    return PostgresLease(settings.ledger_url, settings.ledger_schema, name, holder, seconds)


def term_of(settings: LedgerSettings, name: str) -> Tenure | None:
    """The newest term of lease ``name`` as the ledger's database records it (who leads, or
    led last, and its token); None before anyone held it. For operators and tools."""
    path = settings.sqlite_path()
    query = "SELECT holder, token FROM amtsweg_leases WHERE name = {p}"
    try:
        if path is not None:
            with closing(sqlite3.connect(path, timeout=30)) as connection:
                row = connection.execute(query.format(p="?"), (name,)).fetchone()
        else:
            assert settings.ledger_url is not None
            with psycopg.connect(
                settings.ledger_url, options=f"-c search_path={settings.ledger_schema}"
            ) as connection:
                row = connection.execute(query.format(p="%s"), (name,)).fetchone()
    except (sqlite3.OperationalError, psycopg.errors.UndefinedTable):  # no lease table yet
        return None
    return None if row is None else Tenure(name, str(row[0]), int(str(row[1])))
