"""Parked messages: what a stage's step or the relay still failed on, kept with the cause.

A message that fails by itself (not because the ledger or the broker is unavailable, see
:mod:`events.failures`) is parked here and the stage or relay goes on with the rest. A
row names the message (a stage's Kafka record, or a relay's ledger notification), the
submission, the event, and the cause (type and a short reason, never content). Parking
the same message again (a batch read again after a crash) changes nothing. The table
sits beside the ledger: the relay records a skipped event durably before it moves its
position past it, and operations list parked messages with the other dead letters.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from events.failures import Cause
from events.settings import LedgerSettings
from events.tables import PostgresTables, SQLiteTables

STAGE, RELAY = "stage", "relay"

_TABLE = (
    "CREATE TABLE IF NOT EXISTS amtsweg_parked (letter TEXT PRIMARY KEY, kind TEXT NOT NULL, "
    "place TEXT NOT NULL, source TEXT NOT NULL, submission_id TEXT, event TEXT, "
    "cause TEXT NOT NULL, reason TEXT NOT NULL, at DOUBLE PRECISION NOT NULL)"
)
_INSERT = (
    "INSERT INTO amtsweg_parked (letter, kind, place, source, submission_id, event, cause, "
    "reason, at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}) "
    "ON CONFLICT (letter) DO NOTHING"
)
_SELECT = (
    "SELECT kind, place, source, submission_id, event, cause, reason, at FROM amtsweg_parked "
    "ORDER BY at, letter LIMIT {p}"
)


@dataclass(frozen=True)
class Parked:
    """One parked message."""

    kind: str
    """``stage`` (a Kafka record a stage's step failed on) or ``relay`` (a ledger event)."""
    place: str
    """The stage (``validation`` …) or the relay's name."""
    source: str
    """Where the message is: ``<topic>/<partition>/<offset>`` or ``notification <id>``."""
    submission_id: str | None
    event: str | None
    cause: str
    reason: str
    at: float = field(default_factory=time.time)

    @property
    def letter(self) -> str:
        """Its id: ``parked-<kind>-<place>-<source>`` (the same when parked again)."""
        source = self.source.replace(" ", "-").replace("/", "-")
        return f"parked-{self.kind}-{self.place}-{source}"

    @classmethod
    def of(  # noqa: PLR0917 - the facts of one parked message
        cls,
        kind: str,
        place: str,
        source: str,
        submission_id: str | None,
        event: str | None,
        error: BaseException,
    ) -> Parked:
        """A parked message failed by ``error`` (only its type and a fixed reason are kept)."""
        cause = Cause.of(error)
        return cls(kind, place, source, submission_id, event, cause.type, cause.reason)


class ParkingLot:
    """The table's queries, for a DB-API connection and its placeholder style."""

    placeholder = "?"

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        raise NotImplementedError
        yield  # pragma: no cover

    def park(self, *parked: Parked) -> None:
        """Record parked messages (one already parked stays as it was)."""
        rows = [
            (p.letter, p.kind, p.place, p.source, p.submission_id, p.event, p.cause, p.reason, p.at)
            for p in parked
        ]
        if rows:
            with self._transaction() as cursor:
                cursor.executemany(_INSERT.format(p=self.placeholder), rows)

    def parked(self, limit: int = 1000) -> list[Parked]:
        """The parked messages, oldest first, at most ``limit``."""
        with self._transaction() as cursor:
            cursor.execute(_SELECT.format(p=self.placeholder), (limit,))
            return [
                Parked(
                    kind=row[0],
                    place=row[1],
                    source=row[2],
                    submission_id=row[3],
                    event=row[4],
                    cause=row[5],
                    reason=row[6],
                    at=float(row[7]),
                )
                for row in cursor.fetchall()
            ]

    def counts(self) -> dict[tuple[str, str, str], int]:
        """How many messages were ever parked, per (kind, place, cause)."""
        sql = "SELECT kind, place, cause, COUNT(*) FROM amtsweg_parked GROUP BY kind, place, cause"
        with self._transaction() as cursor:
            cursor.execute(sql)
            return {(row[0], row[1], row[2]): int(row[3]) for row in cursor.fetchall()}


class SQLiteParkingLot(SQLiteTables, ParkingLot):
    """In the ledger's SQLite file."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        with self._schema_transaction() as cursor:
            cursor.execute(_TABLE)


class PostgresParkingLot(PostgresTables, ParkingLot):
    """In the ledger's PostgreSQL database and schema."""

    def __init__(self, conninfo: str, schema: str) -> None:
        super().__init__(conninfo, schema)
        with self._schema_transaction() as cursor:
            cursor.execute(_TABLE)


def parking_lot(settings: LedgerSettings) -> ParkingLot:
    """The table beside the configured ledger."""
    path = settings.sqlite_path()
    if path is not None:
        return SQLiteParkingLot(str(path))
    assert settings.ledger_url is not None
    return PostgresParkingLot(settings.ledger_url, settings.ledger_schema)
