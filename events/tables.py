"""Connections for the tables kept beside the ledger (read models, operator actions).

``SQLiteTables`` and ``PostgresTables`` give a store its ``_transaction`` (a cursor inside
one transaction) and ``close``; the store adds its queries. SQLite: one connection per
store, one transaction at a time (a lock), waiting up to 30 s for the file's write lock.
PostgreSQL: a connection per transaction, in the ledger's schema.
"""

from __future__ import annotations

import fcntl
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import psycopg

SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtext('amtsweg_tables'))"
"""Taken first by a PostgreSQL transaction that creates tables or indexes.

PostgreSQL fails one of two concurrent ``CREATE ... IF NOT EXISTS`` of the same object (a
unique violation in its catalog, or "tuple concurrently updated"), so processes that start
together on a fresh database create their tables one at a time. The lock is the
database's (every schema) and ends with the transaction.
"""
LEDGER_LOCK = "SELECT pg_advisory_lock(hashtext('amtsweg_ledger_tables'))"
LEDGER_UNLOCK = "SELECT pg_advisory_unlock(hashtext('amtsweg_ledger_tables'))"


@contextmanager
def creating_ledger_tables(sqlite_path: Path | None, conninfo: str | None) -> Iterator[None]:
    """Hold the database's lock for creating a ledger's own tables (eventsourcing's, made
    in transactions of its own) while the body runs: PostgreSQL's advisory lock, or for
    SQLite (``sqlite_path``) an exclusive lock on a file beside it, since ledgers opened at
    once on a fresh file otherwise fail now and then with "database is locked" (their
    switch to WAL is not retried)."""
    if sqlite_path is not None:
        sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        with (sqlite_path.parent / f"{sqlite_path.name}.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            yield
        return
    assert conninfo is not None, "a ledger is on SQLite or on PostgreSQL"
    with closing(psycopg.connect(conninfo, autocommit=True)) as connection:
        connection.execute(LEDGER_LOCK)
        try:
            yield
        finally:
            connection.execute(LEDGER_UNLOCK)


class SQLiteTables:
    """Tables in the ledger's SQLite file."""

    placeholder = "?"

    def __init__(self, path: str) -> None:
        self._connection = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self._lock = threading.Lock()

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._lock, self._connection, closing(self._connection.cursor()) as cursor:
            yield cursor

    @contextmanager
    def _schema_transaction(self) -> Iterator[Any]:
        """A transaction that creates tables (the file's write lock orders them already)."""
        with self._transaction() as cursor:
            yield cursor

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()


class PostgresTables:
    """Tables in the ledger's PostgreSQL database and schema."""

    placeholder = "%s"

    def __init__(self, conninfo: str, schema: str) -> None:
        self._conninfo = conninfo
        self._schema = schema

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with (
            closing(
                psycopg.connect(
                    self._conninfo, autocommit=True, options=f"-c search_path={self._schema}"
                )
            ) as connection,
            connection.transaction(),
            connection.cursor() as cursor,
        ):
            yield cursor

    @contextmanager
    def _schema_transaction(self) -> Iterator[Any]:
        """A transaction that creates tables, one such at a time in the database."""
        with self._transaction() as cursor:
            cursor.execute(SCHEMA_LOCK)
            yield cursor

    def close(self) -> None:
        """Nothing to close: a connection per transaction."""
