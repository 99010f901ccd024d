"""Where the deliveries read model lives: tables next to the ledger (SQLite or PostgreSQL).

Writes are idempotent: a row changes only to a newer event version, the position only
forwards, both in one transaction, so a second projector or a replay cannot go back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from events.settings import LedgerSettings
from events.tables import PostgresTables, SQLiteTables
from services.delivery.projection import FOLLOW_UP, OPEN, DeliveryRow

COLUMNS = (
    "delivery_id",
    "submission_id",
    "authority_id",
    "version",
    "state",
    "dispatched_at",
    "reminders",
    "escalated",
    "notice",
    "callback_attempts",
    "callback_due",
    "dead_letter",
    "updated_at",
)
_TABLES = (
    (
        "CREATE TABLE IF NOT EXISTS amtsweg_deliveries (delivery_id TEXT PRIMARY KEY, "
        "submission_id TEXT NOT NULL, authority_id TEXT NOT NULL, version INTEGER NOT NULL, "
        "state TEXT NOT NULL, dispatched_at DOUBLE PRECISION NOT NULL, "
        "reminders INTEGER NOT NULL, escalated BOOLEAN NOT NULL, notice INTEGER NOT NULL, "
        "callback_attempts INTEGER NOT NULL, callback_due DOUBLE PRECISION, "
        "dead_letter BOOLEAN NOT NULL, updated_at DOUBLE PRECISION NOT NULL)"
    ),
    (
        "CREATE INDEX IF NOT EXISTS amtsweg_deliveries_open "
        "ON amtsweg_deliveries (state, dispatched_at, delivery_id)"
    ),
    (
        "CREATE INDEX IF NOT EXISTS amtsweg_deliveries_callbacks "
        "ON amtsweg_deliveries (state, callback_due)"
    ),
    (
        "CREATE INDEX IF NOT EXISTS amtsweg_deliveries_of_authority "
        "ON amtsweg_deliveries (authority_id, state, dispatched_at, delivery_id)"
    ),
    (
        "CREATE TABLE IF NOT EXISTS amtsweg_projection_position "
        "(projection TEXT PRIMARY KEY, position BIGINT NOT NULL)"
    ),
)
# The statements below are built from the constant column names only; values are bound.
_UPSERT = (
    f"INSERT INTO amtsweg_deliveries ({', '.join(COLUMNS)}) VALUES ({{values}}) "  # noqa: S608
    "ON CONFLICT (delivery_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])
    + " WHERE excluded.version > amtsweg_deliveries.version"
)
_ADVANCE = (
    "INSERT INTO amtsweg_projection_position (projection, position) VALUES ({p}, {p}) "
    "ON CONFLICT (projection) DO UPDATE SET position = excluded.position "
    "WHERE excluded.position > amtsweg_projection_position.position"
)
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM amtsweg_deliveries"  # noqa: S608
_CALLBACKS_DUE = (
    f"{_SELECT} WHERE state = '{OPEN}' AND callback_due <= {{p}} ORDER BY callback_due LIMIT {{p}}"
)
_AWAITING_DEADLINE = (
    f"{_SELECT} WHERE state = '{OPEN}' AND NOT escalated AND dispatched_at <= {{p}} "
    "AND (dispatched_at > {p} OR (dispatched_at = {p} AND delivery_id > {p})) "
    "ORDER BY dispatched_at, delivery_id LIMIT {p}"
)
_OPEN_STATES = f"state IN ('{OPEN}', '{FOLLOW_UP}')"
_OPEN_OF = (
    f"{_SELECT} WHERE authority_id = {{p}} AND {_OPEN_STATES} "
    "ORDER BY dispatched_at, delivery_id LIMIT {p} OFFSET {p}"
)
_OPEN_COUNT = (
    f"SELECT COUNT(*) FROM amtsweg_deliveries WHERE authority_id = {{p}} AND {_OPEN_STATES}"  # noqa: S608
)
PROJECTION = "deliveries"


@dataclass(frozen=True)
class OpenDeliveries:
    """Open deliveries (no receipt yet), for metrics."""

    dispatched_before: tuple[int, ...]
    """How many were dispatched at or before each of the times asked for."""
    total: int
    oldest_dispatched_at: float | None
    dead_letters: int
    """Open deliveries whose callback channel gave up (DeliveryFailed)."""


class DeliveryStore(Protocol):
    """The read model's storage."""

    def position(self, projection: str = PROJECTION) -> int: ...

    def rows(self, delivery_ids: Iterable[str]) -> dict[str, DeliveryRow]: ...

    def save(
        self, position: int, rows: Iterable[DeliveryRow], projection: str = PROJECTION
    ) -> None: ...

    def callbacks_due(self, now: float, limit: int) -> list[DeliveryRow]: ...

    def awaiting_deadline(
        self, dispatched_before: float, after: tuple[float, str], limit: int
    ) -> list[DeliveryRow]: ...

    def recent(self, limit: int) -> list[DeliveryRow]: ...

    def dead_letters(self, limit: int) -> list[DeliveryRow]: ...

    def reset(self) -> None: ...

    def open_of(
        self, authority_id: str, offset: int, limit: int
    ) -> tuple[list[DeliveryRow], int]: ...

    def open_deliveries(self, cutoffs: Sequence[float]) -> OpenDeliveries: ...


def _row(values: tuple[Any, ...]) -> DeliveryRow:
    fields = dict(zip(COLUMNS, values, strict=True))
    for flag in ("escalated", "dead_letter"):
        fields[flag] = bool(fields[flag])
    return DeliveryRow(**fields)


def _values(row: DeliveryRow) -> tuple[Any, ...]:
    return tuple(getattr(row, column) for column in COLUMNS)


class _SqlStore:
    """The queries, for a DB-API connection and its placeholder style."""

    placeholder = "?"

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        raise NotImplementedError
        yield  # pragma: no cover

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._transaction() as cursor:
            cursor.execute(sql.format(p=self.placeholder), params)
            return list(cursor.fetchall())

    def position(self, projection: str = PROJECTION) -> int:
        """Up to where a shard's notification log was read (``deliveries-shard<k>``)."""
        found = self._query(
            "SELECT position FROM amtsweg_projection_position WHERE projection = {p}",
            (projection,),
        )
        return int(found[0][0]) if found else 0

    def rows(self, delivery_ids: Iterable[str]) -> dict[str, DeliveryRow]:
        ids = sorted(set(delivery_ids))
        if not ids:
            return {}
        marks = ", ".join([self.placeholder] * len(ids))
        found = self._query(f"{_SELECT} WHERE delivery_id IN ({marks})", tuple(ids))
        return {row.delivery_id: row for row in map(_row, found)}

    def save(
        self, position: int, rows: Iterable[DeliveryRow], projection: str = PROJECTION
    ) -> None:
        upsert = _UPSERT.format(values=", ".join([self.placeholder] * len(COLUMNS)))
        with self._transaction() as cursor:
            cursor.executemany(upsert, [_values(row) for row in rows])
            cursor.execute(_ADVANCE.format(p=self.placeholder), (projection, position))

    def callbacks_due(self, now: float, limit: int) -> list[DeliveryRow]:
        """Open deliveries whose next callback attempt is due, most overdue first."""
        return [_row(values) for values in self._query(_CALLBACKS_DUE, (now, limit))]

    def awaiting_deadline(
        self, dispatched_before: float, after: tuple[float, str], limit: int
    ) -> list[DeliveryRow]:
        """Open, unescalated deliveries dispatched before a time, a page after ``after``."""
        since, delivery_id = after
        params = (dispatched_before, since, since, delivery_id, limit)
        return [_row(values) for values in self._query(_AWAITING_DEADLINE, params)]

    def open_of(self, authority_id: str, offset: int, limit: int) -> tuple[list[DeliveryRow], int]:
        """A page of the authority's open deliveries and follow-up deliveries not answered
        yet, oldest dispatch first, and their count."""
        with self._transaction() as cursor:  # one transaction: the page and the count agree
            cursor.execute(_OPEN_OF.format(p=self.placeholder), (authority_id, limit, offset))
            page = [_row(values) for values in cursor.fetchall()]
            cursor.execute(_OPEN_COUNT.format(p=self.placeholder), (authority_id,))
            total = int(cursor.fetchone()[0])
        return page, total

    def recent(self, limit: int) -> list[DeliveryRow]:
        sql = f"{_SELECT} ORDER BY dispatched_at DESC LIMIT {{p}}"
        return [_row(values) for values in self._query(sql, (limit,))]

    def dead_letters(self, limit: int) -> list[DeliveryRow]:
        """Open deliveries whose callback channel gave up, oldest first."""
        sql = f"{_SELECT} WHERE state = '{OPEN}' AND dead_letter ORDER BY updated_at LIMIT {{p}}"
        return [_row(values) for values in self._query(sql, (limit,))]

    def reset(self) -> None:
        """Forget every row and the position (before a rebuild from the ledger)."""
        with self._transaction() as cursor:
            cursor.execute("DELETE FROM amtsweg_deliveries")
            forget = (
                "DELETE FROM amtsweg_projection_position "
                "WHERE projection = {p} OR projection LIKE {p}"
            )
            cursor.execute(forget.format(p=self.placeholder), (PROJECTION, f"{PROJECTION}-shard%"))

    def open_deliveries(self, cutoffs: Sequence[float]) -> OpenDeliveries:
        """Open deliveries counted by dispatch time (at or before each cutoff), in one scan."""
        before = "".join(
            f"SUM(CASE WHEN dispatched_at <= {self.placeholder} THEN 1 ELSE 0 END), "
            for _ in cutoffs
        )
        sql = (
            f"SELECT {before}COUNT(*), MIN(dispatched_at), "  # noqa: S608 - placeholders only
            "SUM(CASE WHEN dead_letter THEN 1 ELSE 0 END) "
            f"FROM amtsweg_deliveries WHERE state = '{OPEN}'"
        )
        *counts, total, oldest, dead = self._query(sql, tuple(cutoffs))[0]
        return OpenDeliveries(
            tuple(int(c or 0) for c in counts),
            int(total or 0),
            float(oldest) if oldest is not None else None,
            int(dead or 0),
        )


class SQLiteDeliveryStore(SQLiteTables, _SqlStore):
    """The read model in the ledger's SQLite file."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        with self._schema_transaction() as cursor:
            for statement in _TABLES:
                cursor.execute(statement)


class PostgresDeliveryStore(PostgresTables, _SqlStore):
    """The read model in the ledger's PostgreSQL database and schema."""

    def __init__(self, conninfo: str, schema: str) -> None:
        super().__init__(conninfo, schema)
        with self._schema_transaction() as cursor:
            for statement in _TABLES:
                cursor.execute(statement)


def delivery_store(settings: LedgerSettings) -> DeliveryStore:
    """The read model's store beside the configured ledger."""
    path = settings.sqlite_path()
    if path is not None:
        return SQLiteDeliveryStore(str(path))
    assert settings.ledger_url is not None
    return PostgresDeliveryStore(settings.ledger_url, settings.ledger_schema)
