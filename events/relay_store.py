"""Durable state of the relay, next to the ledger: its position and the chain witness.

The witness keeps, per submission, the newest version and hash the relay has
published. ``verify`` compares the ledger with it, so an event deleted from the end
of a chain after it was published is found too.

``advance`` with a fencing token (the relay's term of its lease, :mod:`events.lease`)
moves position and witness only if no newer term of the relay's lease exists: the check
and the writes are one transaction, so a takeover cannot slip between them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from typing import Protocol

import psycopg

from events.lease import LEASE_TABLE, NEWEST_TERM, StaleLeaderError, stale
from events.settings import LedgerSettings
from events.tables import SCHEMA_LOCK

_TABLES = (
    (
        "CREATE TABLE IF NOT EXISTS amtsweg_relay_position "
        "(relay TEXT PRIMARY KEY, position BIGINT NOT NULL)"
    ),
    (
        "CREATE TABLE IF NOT EXISTS amtsweg_chain_witness "
        "(submission_id TEXT PRIMARY KEY, version INTEGER NOT NULL, hash TEXT NOT NULL)"
    ),
    LEASE_TABLE,
)
_UPSERT_POSITION = (
    "INSERT INTO amtsweg_relay_position (relay, position) VALUES ({p}, {p}) "
    "ON CONFLICT (relay) DO UPDATE SET position = excluded.position"
)
_UPSERT_WITNESS = (
    "INSERT INTO amtsweg_chain_witness (submission_id, version, hash) VALUES ({p}, {p}, {p}) "
    "ON CONFLICT (submission_id) DO UPDATE SET version = excluded.version, hash = excluded.hash "
    "WHERE excluded.version > amtsweg_chain_witness.version"
)


@dataclass(frozen=True)
class Witness:
    """The newest published link of one submission's chain."""

    submission_id: str
    version: int
    hash: str


class RelayStore(Protocol):
    """Where the relay keeps its position and witness."""

    def position(self, relay: str) -> int: ...

    def advance(
        self, relay: str, position: int, witnesses: Iterable[Witness], token: int | None = None
    ) -> None:
        """Store the new position and witnesses; with ``token``, only while it is the newest
        term of the lease named ``relay`` (``StaleLeaderError`` otherwise)."""
        ...

    def witness(self, submission_id: str) -> Witness | None: ...


class SQLiteRelayStore:
    """Relay state in the ledger's SQLite file."""

    def __init__(self, path: str) -> None:
        self._connection = sqlite3.connect(path, timeout=30, check_same_thread=False)
        with self._connection:
            for statement in _TABLES:
                self._connection.execute(statement)

    def position(self, relay: str) -> int:
        row = self._connection.execute(
            "SELECT position FROM amtsweg_relay_position WHERE relay = ?", (relay,)
        ).fetchone()
        return int(row[0]) if row else 0

    def advance(
        self, relay: str, position: int, witnesses: Iterable[Witness], token: int | None = None
    ) -> None:
        with self._connection:
            if token is not None:
                self._connection.execute("BEGIN IMMEDIATE")  # the file's write lock first
                row = self._connection.execute(NEWEST_TERM.format(p="?"), (relay,)).fetchone()
                if stale(row and row[0], token):
                    raise StaleLeaderError(relay)
            self._connection.execute(_UPSERT_POSITION.format(p="?"), (relay, position))
            self._connection.executemany(
                _UPSERT_WITNESS.format(p="?"),
                [(w.submission_id, w.version, w.hash) for w in witnesses],
            )

    def witness(self, submission_id: str) -> Witness | None:
        row = self._connection.execute(
            "SELECT version, hash FROM amtsweg_chain_witness WHERE submission_id = ?",
            (submission_id,),
        ).fetchone()
        return Witness(submission_id, int(row[0]), str(row[1])) if row else None


class PostgresRelayStore:
    """Relay state in the ledger's PostgreSQL database."""

    def __init__(self, conninfo: str, schema: str) -> None:
        self._conninfo = conninfo
        self._schema = schema
        with closing(self._connect()) as connection, connection.transaction():
            connection.execute(SCHEMA_LOCK)
            for statement in _TABLES:
                connection.execute(statement)

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            self._conninfo, autocommit=True, options=f"-c search_path={self._schema}"
        )

    def position(self, relay: str) -> int:
        with closing(self._connect()) as connection:
            row = connection.execute(
                "SELECT position FROM amtsweg_relay_position WHERE relay = %s", (relay,)
            ).fetchone()
        return int(str(row[0])) if row else 0

    def advance(
        self, relay: str, position: int, witnesses: Iterable[Witness], token: int | None = None
    ) -> None:
        with closing(self._connect()) as connection, connection.transaction():
            if token is not None:  # FOR SHARE: a takeover waits until this write is done
                row = connection.execute(
                    NEWEST_TERM.format(p="%s") + " FOR SHARE", (relay,)
                ).fetchone()
                if stale(row and row[0], token):
                    raise StaleLeaderError(relay)
            connection.execute(_UPSERT_POSITION.format(p="%s"), (relay, position))
            with connection.cursor() as cursor:
                cursor.executemany(
                    _UPSERT_WITNESS.format(p="%s"),
                    [(w.submission_id, w.version, w.hash) for w in witnesses],
                )

    def witness(self, submission_id: str) -> Witness | None:
        with closing(self._connect()) as connection:
            row = connection.execute(
                "SELECT version, hash FROM amtsweg_chain_witness WHERE submission_id = %s",
                (submission_id,),
            ).fetchone()
        return Witness(submission_id, int(str(row[0])), str(row[1])) if row else None


def relay_store(settings: LedgerSettings) -> RelayStore:
    """The relay store beside the configured ledger."""
    path = settings.sqlite_path()
    if path is not None:
        return SQLiteRelayStore(str(path))
    assert settings.ledger_url is not None
    return PostgresRelayStore(settings.ledger_url, settings.ledger_schema)
