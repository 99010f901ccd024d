"""Where the submissions overview lives: tables next to the ledger (SQLite or PostgreSQL).

``amtsweg_ops_submissions`` holds one row per submission (with its case, so a case's
submissions are found by its id), ``amtsweg_ops_throughput``
the number of events per minute and event name. Both move with the projection's
position in one transaction that first checks the position is still the one the batch
was read from (compare and set): a second projector, or a rebuild meanwhile, makes the
write fail and the batch is read again, so no event is ever counted twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from events.settings import LedgerSettings
from events.tables import PostgresTables, SQLiteTables
from services.ops.readmodels.overview.rows import Filters, SubmissionRow
from services.ops.tenants.among import Among

PROJECTION = "ops-submissions"
COLUMNS = tuple(SubmissionRow.__dataclass_fields__)
_TABLES = (
    (
        "CREATE TABLE IF NOT EXISTS amtsweg_ops_submissions (submission_id TEXT PRIMARY KEY, "
        "portal_id TEXT NOT NULL, leika_key TEXT NOT NULL, status TEXT NOT NULL, "
        "authority_id TEXT, delivery_id TEXT, received_at DOUBLE PRECISION NOT NULL, "
        "updated_at DOUBLE PRECISION NOT NULL, version INTEGER NOT NULL, "
        "last_event TEXT NOT NULL, problem TEXT, escalated BOOLEAN NOT NULL, "
        "dead_letter BOOLEAN NOT NULL, content_erased BOOLEAN NOT NULL DEFAULT FALSE, "
        "case_id TEXT)"
    ),
    (
        "CREATE INDEX IF NOT EXISTS amtsweg_ops_submissions_settled "
        "ON amtsweg_ops_submissions (status, content_erased, updated_at)"
    ),
    (
        "CREATE INDEX IF NOT EXISTS amtsweg_ops_submissions_received "
        "ON amtsweg_ops_submissions (received_at)"
    ),
    (
        "CREATE INDEX IF NOT EXISTS amtsweg_ops_submissions_status "
        "ON amtsweg_ops_submissions (status, received_at)"
    ),
    (
        "CREATE INDEX IF NOT EXISTS amtsweg_ops_submissions_case "
        "ON amtsweg_ops_submissions (case_id, received_at)"
    ),
    # A list filtered by portal, authority or service reads its page (and counts its
    # rows) in that column's index, newest first, instead of scanning the table.
    (
        "CREATE INDEX IF NOT EXISTS amtsweg_ops_submissions_portal "
        "ON amtsweg_ops_submissions (portal_id, received_at, submission_id)"
    ),
    (
        "CREATE INDEX IF NOT EXISTS amtsweg_ops_submissions_authority "
        "ON amtsweg_ops_submissions (authority_id, received_at, submission_id)"
    ),
    (
        "CREATE INDEX IF NOT EXISTS amtsweg_ops_submissions_service "
        "ON amtsweg_ops_submissions (leika_key, received_at, submission_id)"
    ),
    (
        "CREATE TABLE IF NOT EXISTS amtsweg_ops_throughput (minute BIGINT NOT NULL, "
        "event TEXT NOT NULL, count BIGINT NOT NULL, PRIMARY KEY (minute, event))"
    ),
    (
        "CREATE TABLE IF NOT EXISTS amtsweg_projection_position "
        "(projection TEXT PRIMARY KEY, position BIGINT NOT NULL)"
    ),
    (
        "INSERT INTO amtsweg_projection_position (projection, position) "
        "VALUES ('ops-submissions', 0) ON CONFLICT (projection) DO NOTHING"
    ),
)
# Statements are built from the constant column names only; values are always bound.
_UPSERT = (
    f"INSERT INTO amtsweg_ops_submissions ({', '.join(COLUMNS)}) VALUES ({{values}}) "  # noqa: S608
    "ON CONFLICT (submission_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])
    + " WHERE excluded.version >= amtsweg_ops_submissions.version"
)
_COUNT = (
    "INSERT INTO amtsweg_ops_throughput (minute, event, count) VALUES ({p}, {p}, {p}) "
    "ON CONFLICT (minute, event) DO UPDATE SET count = amtsweg_ops_throughput.count + "
    "excluded.count"
)
_MOVE = (
    "UPDATE amtsweg_projection_position SET position = {p} "
    "WHERE projection = {p} AND position = {p}"
)
_TRACK = (
    "INSERT INTO amtsweg_projection_position (projection, position) VALUES ({p}, 0) "
    "ON CONFLICT (projection) DO NOTHING"
)
_REWIND = (
    "UPDATE amtsweg_projection_position SET position = 0 "
    "WHERE projection = {p} OR projection LIKE {p}"
)
_ADD_CASE_COLUMN = "ALTER TABLE amtsweg_ops_submissions ADD COLUMN case_id TEXT"
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM amtsweg_ops_submissions"  # noqa: S608
_WHERE = (
    ("status", "status = {p}"),
    ("leika_key", "leika_key = {p}"),
    ("authority", "authority_id = {p}"),
    ("portal", "portal_id = {p}"),
    ("since", "received_at >= {p}"),
    ("until", "received_at < {p}"),
    ("case_id", "case_id = {p}"),
)

_RECEIVED_OF = "(SELECT received_at FROM amtsweg_ops_submissions WHERE submission_id = {p})"
_AFTER = (  # after a row in the order of the lists: newest first, then by id
    f"received_at <= {_RECEIVED_OF} AND (received_at < {_RECEIVED_OF} OR submission_id > {{p}})"
)


def _row(values: Sequence[Any]) -> SubmissionRow:
    fields = dict(zip(COLUMNS, values, strict=True))
    for flag in ("escalated", "dead_letter", "content_erased"):
        fields[flag] = bool(fields[flag])
    return SubmissionRow(**fields)


class OverviewStore:
    """The overview's queries, for a DB-API connection and its placeholder style."""

    placeholder = "?"

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        raise NotImplementedError
        yield  # pragma: no cover

    @contextmanager
    def _schema_transaction(self) -> Iterator[Any]:
        raise NotImplementedError
        yield  # pragma: no cover

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._transaction() as cursor:
            cursor.execute(sql.format(p=self.placeholder), tuple(params))
            return list(cursor.fetchall())

    _COLUMNS_SQL = ""
    """The names of the overview table's columns (each dialect asks its own catalog)."""

    def _create(self) -> None:
        with self._schema_transaction() as cursor:
            cursor.execute(_TABLES[0])
        added = self._add_case_column()
        with self._schema_transaction() as cursor:
            for statement in _TABLES[1:]:
                cursor.execute(statement)
        if added:  # an overview from before cases knows no case: read the ledger again
            self.reset()

    def _column_names(self) -> set[str]:
        return {str(row[0]) for row in self._query(self._COLUMNS_SQL)}

    def _add_case_column(self) -> bool:
        """Add ``case_id`` to an overview table made before cases; True if it was added."""
        if "case_id" in self._column_names():
            return False
        try:
            with self._schema_transaction() as cursor:
                cursor.execute(_ADD_CASE_COLUMN)
        except Exception:
            if "case_id" in self._column_names():  # another process added it meanwhile
                return False
            raise
        return True

    def position(self, projection: str = PROJECTION) -> int:
        """The position in a shard's log the overview reflects (``ops-submissions-shard<k>``)."""
        sql = "SELECT position FROM amtsweg_projection_position WHERE projection = {p}"
        found = self._query(sql, (projection,))
        return int(found[0][0]) if found else 0

    def save(
        self,
        expected: int,
        position: int,
        rows: Sequence[SubmissionRow],
        counts: Mapping[tuple[int, str], int],
        projection: str = PROJECTION,
    ) -> bool:
        """Move from ``expected`` to ``position`` with these rows and counts.

        False, and nothing written, when the position is no longer ``expected``.
        """
        p = self.placeholder
        upsert = _UPSERT.format(values=", ".join([p] * len(COLUMNS)))
        try:
            with self._transaction() as cursor:
                cursor.execute(_TRACK.format(p=p), (projection,))
                _move(cursor, _MOVE.format(p=p), (position, projection, expected))
                cursor.executemany(upsert, [tuple(getattr(r, c) for c in COLUMNS) for r in rows])
                cursor.executemany(
                    _COUNT.format(p=p), [(m, e, n) for (m, e), n in sorted(counts.items())]
                )
        except _MovedError:
            return False
        return True

    def reset(self) -> None:
        """Forget every row and count and go back to the start of the ledger."""
        with self._transaction() as cursor:
            cursor.execute("DELETE FROM amtsweg_ops_submissions")
            cursor.execute("DELETE FROM amtsweg_ops_throughput")
            rewind = _REWIND.format(p=self.placeholder)
            cursor.execute(rewind, (PROJECTION, f"{PROJECTION}-shard%"))

    def select(
        self, filters: Filters, limit: int = 100, offset: int = 0, after: str | None = None
    ) -> list[SubmissionRow]:
        """Rows matching ``filters``, newest first; with ``after`` (a submission id) only
        those listed after it, ``offset`` counted from there.

        ``after`` is the keyset way to page: the last row of one page names the next, which
        starts in the index where that row stands, however deep; an offset is read past
        row by row. An ``after`` that names no listed submission gives no rows.
        """
        where, params = self._where(filters)
        if after is not None:
            where = f"{where} AND " if where else " WHERE "
            where += _AFTER
            params += [after] * 3
        sql = f"{_SELECT}{where} ORDER BY received_at DESC, submission_id LIMIT {{p}} OFFSET {{p}}"
        return [_row(values) for values in self._query(sql, [*params, limit, offset])]

    def count(self, filters: Filters) -> int:
        """How many rows match ``filters``."""
        where, params = self._where(filters)
        sql = f"SELECT COUNT(*) FROM amtsweg_ops_submissions{where}"  # noqa: S608 - constants
        return int(self._query(sql, params)[0][0])

    def settled(
        self, status: str, before: float, limit: int, offset: int = 0
    ) -> list[SubmissionRow]:
        """Rows in ``status`` since before ``before`` (epoch seconds) whose content is kept,
        oldest first: the retention job's candidates."""
        sql = (
            _SELECT + " WHERE status = {p} AND NOT content_erased AND updated_at < {p} "
            "ORDER BY updated_at, submission_id LIMIT {p} OFFSET {p}"
        )
        return [_row(r) for r in self._query(sql, (status, before, limit, offset))]

    def status_counts(self, among: Among | None = None) -> dict[str, int]:
        """Submissions per status (of an operator's tenants, with ``among``)."""
        where, params = self._where(Filters(among=among))
        sql = f"SELECT status, COUNT(*) FROM amtsweg_ops_submissions{where} GROUP BY status"  # noqa: S608
        return {str(status): int(count) for status, count in self._query(sql, params)}

    def owner_counts(self) -> list[tuple[str, str, str | None, int]]:
        """(status, portal id, authority id, submissions): what tenant figures are made of."""
        sql = (
            "SELECT status, portal_id, authority_id, COUNT(*) FROM amtsweg_ops_submissions "
            "GROUP BY status, portal_id, authority_id"
        )
        return [
            (str(s), str(p), None if a is None else str(a), int(n))
            for s, p, a, n in self._query(sql)
        ]

    def throughput(self, since_minute: int) -> list[tuple[int, str, int]]:
        """(minute, event, count) from ``since_minute`` on (minutes since the epoch)."""
        sql = (
            "SELECT minute, event, count FROM amtsweg_ops_throughput WHERE minute >= {p} "
            "ORDER BY minute, event"
        )
        return [(int(m), str(e), int(n)) for m, e, n in self._query(sql, (since_minute,))]

    @staticmethod
    def _where(filters: Filters) -> tuple[str, list[Any]]:
        values = {
            "status": filters.status,
            "leika_key": filters.leika_key,
            "authority": filters.authority,
            "portal": filters.portal,
            "since": filters.since,
            "until": filters.until,
            "case_id": filters.case_id,
        }
        clauses = [clause for name, clause in _WHERE if values[name] is not None]
        params = [values[name] for name, _ in _WHERE if values[name] is not None]
        if filters.among is not None:
            clause, among_params = _among(filters.among)
            clauses.append(clause)
            params += among_params
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _among(among: Among) -> tuple[str, list[Any]]:
    """``(portal in … OR authority in … [OR unclaimed])`` with its parameters."""
    alternatives: list[str] = []
    params: list[Any] = []

    def member(column: str, values: frozenset[str], *, negated: bool = False) -> str:
        params.extend(sorted(values))
        listed = ", ".join(["{p}"] * len(values))
        return f"{column} {'NOT IN' if negated else 'IN'} ({listed})"

    if among.portals:
        alternatives.append(member("portal_id", among.portals))
    if among.authorities:
        alternatives.append(member("authority_id", among.authorities))
    if among.claimed_portals is not None:
        claimed = among.claimed_portals
        alternatives.append(member("portal_id", claimed, negated=True) if claimed else "1 = 1")
    if among.claimed_authorities is not None:
        claimed = among.claimed_authorities
        unclaimed = member("authority_id", claimed, negated=True) if claimed else "1 = 1"
        alternatives.append(f"(authority_id IS NOT NULL AND {unclaimed})")
    return "(" + (" OR ".join(alternatives) or "1 = 0") + ")", params


class _MovedError(Exception):
    """Another projector (or a rebuild) moved the position first."""


def _move(cursor: Any, sql: str, params: tuple[Any, ...]) -> None:
    """Compare and set the position; raise (and so roll back) when it moved meanwhile."""
    cursor.execute(sql, params)
    if cursor.rowcount != 1:
        raise _MovedError


class SQLiteOverviewStore(SQLiteTables, OverviewStore):
    """The overview in the ledger's SQLite file."""

    _COLUMNS_SQL = "SELECT name FROM pragma_table_info('amtsweg_ops_submissions')"

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self._create()


class PostgresOverviewStore(PostgresTables, OverviewStore):
    """The overview in the ledger's PostgreSQL database and schema."""

    _COLUMNS_SQL = (
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = 'amtsweg_ops_submissions'"
    )

    def __init__(self, conninfo: str, schema: str) -> None:
        super().__init__(conninfo, schema)
        self._create()


def overview_store(settings: LedgerSettings) -> SQLiteOverviewStore | PostgresOverviewStore:
    """The overview's store beside the configured ledger."""
    path = settings.sqlite_path()
    if path is not None:
        return SQLiteOverviewStore(str(path))
    assert settings.ledger_url is not None
    return PostgresOverviewStore(settings.ledger_url, settings.ledger_schema)
