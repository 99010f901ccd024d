"""The lease of a singleton beside the configured ledger: PostgreSQL or SQLite."""

from __future__ import annotations

from events.lease import Lease
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
