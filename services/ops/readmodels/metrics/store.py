"""Where the metrics read model lives: tables next to the ledger (SQLite or PostgreSQL).

``amtsweg_metrics_submissions`` holds each submission's status and since when,
``amtsweg_metrics_status_counts`` how many submissions are in each status. A batch is
applied in one transaction that first moves the projection's position from the one the
batch was read at to its end (compare and set): when another projector got there first,
nothing is applied and the caller observes nothing, so every event is counted once, by
one projector, however many run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from events.settings import LedgerSettings
from events.tables import PostgresTables, SQLiteTables
from services.ops.readmodels.metrics.stages import Changes, StatusRow

PROJECTION = "metrics"
_TABLES = (
    (
        "CREATE TABLE IF NOT EXISTS amtsweg_metrics_submissions (submission_id TEXT PRIMARY KEY, "
        "status TEXT NOT NULL, since DOUBLE PRECISION NOT NULL, version INTEGER NOT NULL)"
    ),
    (
        "CREATE TABLE IF NOT EXISTS amtsweg_metrics_status_counts "
        "(status TEXT PRIMARY KEY, count BIGINT NOT NULL)"
    ),
    (
        "CREATE TABLE IF NOT EXISTS amtsweg_projection_position "
        "(projection TEXT PRIMARY KEY, position BIGINT NOT NULL)"
    ),
    (
        "INSERT INTO amtsweg_projection_position (projection, position) VALUES ({p}, 0) "
        "ON CONFLICT (projection) DO NOTHING"
    ),
)
_ADVANCE = (
    "UPDATE amtsweg_projection_position SET position = {p} "
    "WHERE projection = {p} AND position = {p}"
)
_UPSERT_ROW = (
    "INSERT INTO amtsweg_metrics_submissions (submission_id, status, since, version) "
    "VALUES ({p}, {p}, {p}, {p}) ON CONFLICT (submission_id) DO UPDATE SET "
    "status = excluded.status, since = excluded.since, version = excluded.version"
)
_SELECT_ROWS = "SELECT submission_id, status, since, version FROM amtsweg_metrics_submissions"
_ADD_COUNT = (
    "INSERT INTO amtsweg_metrics_status_counts (status, count) VALUES ({p}, {p}) "
    "ON CONFLICT (status) DO UPDATE "
    "SET count = amtsweg_metrics_status_counts.count + excluded.count"
)


class MetricsStore(Protocol):
    """The metrics read model's storage."""

    def position(self, projection: str = PROJECTION) -> int: ...

    def rows(self, submission_ids: Iterable[str]) -> dict[str, StatusRow]: ...

    def apply(
        self, read_at: int, position: int, changes: Changes, projection: str = PROJECTION
    ) -> bool: ...

    def status_counts(self) -> dict[str, int]: ...

    def reset(self) -> None: ...


class _LostRaceError(Exception):
    """Another projector advanced the position first: roll back."""


def _advance(cursor: Any, sql: str, params: tuple[Any, ...]) -> None:
    cursor.execute(sql, params)
    if cursor.rowcount != 1:
        raise _LostRaceError


class _SqlStore:
    placeholder = "?"

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        raise NotImplementedError
        yield  # pragma: no cover

    @contextmanager
    def _schema_transaction(self) -> Iterator[Any]:
        raise NotImplementedError
        yield  # pragma: no cover

    def _create(self) -> None:
        with self._schema_transaction() as cursor:
            for statement in _TABLES:
                params = (PROJECTION,) if "{p}" in statement else ()
                cursor.execute(statement.format(p=self.placeholder), params)

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._transaction() as cursor:
            cursor.execute(sql.format(p=self.placeholder), params)
            return list(cursor.fetchall())

    def position(self, projection: str = PROJECTION) -> int:
        found = self._query(
            "SELECT position FROM amtsweg_projection_position WHERE projection = {p}",
            (projection,),
        )
        return int(found[0][0]) if found else 0

    def rows(self, submission_ids: Iterable[str]) -> dict[str, StatusRow]:
        ids = sorted(set(submission_ids))
        if not ids:
            return {}
        marks = ", ".join([self.placeholder] * len(ids))
        sql = f"{_SELECT_ROWS} WHERE submission_id IN ({marks})"
        found = self._query(sql, tuple(ids))
        return {row[0]: StatusRow(row[0], row[1], float(row[2]), int(row[3])) for row in found}

    def apply(
        self, read_at: int, position: int, changes: Changes, projection: str = PROJECTION
    ) -> bool:
        """Apply a batch of a shard's log read at ``read_at``; False if another projector did."""
        p = self.placeholder
        rows = [(r.submission_id, r.status, r.since, r.version) for r in changes.rows.values()]
        counts = [(status, delta) for status, delta in sorted(changes.counts.items()) if delta]
        try:
            with self._transaction() as cursor:
                cursor.execute(_TABLES[-1].format(p=p), (projection,))  # its position row
                _advance(cursor, _ADVANCE.format(p=p), (position, projection, read_at))
                if rows:
                    cursor.executemany(_UPSERT_ROW.format(p=p), rows)
                if counts:
                    cursor.executemany(_ADD_COUNT.format(p=p), counts)
        except _LostRaceError:
            return False
        return True

    def status_counts(self) -> dict[str, int]:
        found = self._query("SELECT status, count FROM amtsweg_metrics_status_counts")
        return {str(status): int(count) for status, count in found}

    def reset(self) -> None:
        """Forget rows, counts and position (before a rebuild from the ledger)."""
        with self._transaction() as cursor:
            cursor.execute("DELETE FROM amtsweg_metrics_submissions")
            cursor.execute("DELETE FROM amtsweg_metrics_status_counts")
            rewind = (
                "UPDATE amtsweg_projection_position SET position = 0 "
                "WHERE projection = {p} OR projection LIKE {p}"
            )
            cursor.execute(rewind.format(p=self.placeholder), (PROJECTION, f"{PROJECTION}-shard%"))


class SQLiteMetricsStore(SQLiteTables, _SqlStore):
    """The read model in the ledger's SQLite file."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self._create()


class PostgresMetricsStore(PostgresTables, _SqlStore):
    """The read model in the ledger's PostgreSQL database and schema."""

    def __init__(self, conninfo: str, schema: str) -> None:
        super().__init__(conninfo, schema)
        self._create()


def metrics_store(settings: LedgerSettings) -> MetricsStore:
    """The read model's store beside the configured ledger."""
    path = settings.sqlite_path()
    if path is not None:
        return SQLiteMetricsStore(str(path))
    assert settings.ledger_url is not None
    return PostgresMetricsStore(settings.ledger_url, settings.ledger_schema)
