"""What operations did with dead letters: a small table next to the ledger.

A dead letter on ``amtsweg.intake.dlq`` stays on the topic (Kafka cannot delete one
message), so "dropped" or "retried" is recorded here, keyed by the letter's id, with
who, why and when; the list leaves out what is recorded. A table beside the ledger,
rather than a compacted topic, because the ops API and CLI already hold the ledger's
database, a row is written and read in one transaction, and the audit (actor, reason)
sits with the ledger's other records. The first action on a letter wins.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from events.settings import LedgerSettings
from events.tables import PostgresTables, SQLiteTables

_TABLE = (
    "CREATE TABLE IF NOT EXISTS amtsweg_dead_letter_actions (letter TEXT PRIMARY KEY, "
    "action TEXT NOT NULL, actor TEXT NOT NULL, reason TEXT NOT NULL, "
    "at DOUBLE PRECISION NOT NULL)"
)
_INSERT = (
    "INSERT INTO amtsweg_dead_letter_actions (letter, action, actor, reason, at) "
    "VALUES ({p}, {p}, {p}, {p}, {p}) ON CONFLICT (letter) DO NOTHING"
)


@dataclass(frozen=True)
class LetterAction:
    """What was done with one dead letter."""

    letter: str
    action: str
    actor: str
    reason: str
    at: float


class DeadLetterActions:
    """The table's queries, for a DB-API connection and its placeholder style."""

    placeholder = "?"

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        raise NotImplementedError
        yield  # pragma: no cover

    def record(self, letter: str, action: str, *, actor: str, reason: str) -> bool:
        """Record an action; False if the letter had one already."""
        with self._transaction() as cursor:
            cursor.execute(
                _INSERT.format(p=self.placeholder), (letter, action, actor, reason, time.time())
            )
            return bool(cursor.rowcount == 1)

    def handled(self, prefix: str) -> dict[str, LetterAction]:
        """Every recorded action on letters whose id starts with ``prefix``."""
        sql = (
            "SELECT letter, action, actor, reason, at FROM amtsweg_dead_letter_actions "
            "WHERE letter LIKE {p}"
        )
        with self._transaction() as cursor:
            cursor.execute(sql.format(p=self.placeholder), (prefix + "%",))
            return {row[0]: LetterAction(*row) for row in cursor.fetchall()}


class SQLiteDeadLetterActions(SQLiteTables, DeadLetterActions):
    """In the ledger's SQLite file."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        with self._schema_transaction() as cursor:
            cursor.execute(_TABLE)


class PostgresDeadLetterActions(PostgresTables, DeadLetterActions):
    """In the ledger's PostgreSQL database and schema."""

    def __init__(self, conninfo: str, schema: str) -> None:
        super().__init__(conninfo, schema)
        with self._schema_transaction() as cursor:
            cursor.execute(_TABLE)


def dead_letter_actions(settings: LedgerSettings) -> DeadLetterActions:
    """The table beside the configured ledger."""
    path = settings.sqlite_path()
    if path is not None:
        return SQLiteDeadLetterActions(str(path))
    assert settings.ledger_url is not None
    return PostgresDeadLetterActions(settings.ledger_url, settings.ledger_schema)
