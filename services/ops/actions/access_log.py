"""Who looked at what: the append-only access log, a table beside the ledger.

Every operator read of a submission's content or trail (ops API, console, CLI) adds one
entry: the operator, the submission (none for a list), what was read, the purpose as the
operator stated it, the channel and the time. Operations and the data protection officer
query it (``GET /ops/access-log``, ``amtsweg access-log``), and that query is an entry too.

Append-only is the database's rule, not only this module's: triggers refuse every UPDATE
and DELETE (and, on PostgreSQL, TRUNCATE) on the table. Unlike the read models it is no
projection of the ledger, so ``amtsweg rebuild`` never touches it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from events.settings import LedgerSettings
from events.tables import PostgresTables, SQLiteTables

NOT_STATED = "not stated"
"""The purpose of a read whose operator gave none."""


class Read(StrEnum):
    """What an operator read."""

    TRAIL = "trail"  # a submission's status and its event trail (timeline)
    CASE = "case"  # a case's timeline: one entry for each of its submissions
    VERIFY = "verify"  # the hash chain check of one submission (none: of every submission)
    LIST = "list"  # the submissions overview, by filters
    TRIAGE = "triage"  # the unroutable submissions waiting for an operator
    DEAD_LETTERS = "dead-letters"  # the dead letters waiting for an operator
    DELIVERIES = "deliveries"  # the deliveries and where they stand
    ACCESS_LOG = "access-log"  # this log


class Channel(StrEnum):
    """Where the read came from."""

    HTTP = "http"  # the ops API (and the console, which uses it)
    CLI = "cli"  # the amtsweg command


@dataclass(frozen=True)
class Access:
    """One read: who, which submission (None: a list), what, why, through which channel, when."""

    entry: str
    at: float
    operator: str
    submission_id: str | None
    what: str
    purpose: str
    channel: str

    def as_json(self) -> dict[str, Any]:
        """The entry as JSON (camelCase, the time as ISO 8601 UTC)."""
        return {
            "entry": self.entry,
            "at": datetime.fromtimestamp(self.at, UTC).isoformat(),
            "operator": self.operator,
            "submissionId": self.submission_id,
            "what": self.what,
            "purpose": self.purpose,
            "channel": self.channel,
        }


@dataclass(frozen=True)
class AccessQuery:
    """Which entries to show, newest first; ``since`` and ``until`` in seconds since the epoch."""

    submission_id: str | None = None
    operator: str | None = None
    since: float | None = None
    until: float | None = None
    limit: int = 100


def stated(purpose: str | None) -> str:
    """The purpose as given, or :data:`NOT_STATED` when none (or only blanks) was given."""
    return purpose if purpose and purpose.strip() else NOT_STATED


COLUMNS = tuple(Access.__dataclass_fields__)
_TABLE = (
    "CREATE TABLE IF NOT EXISTS amtsweg_access_log (entry TEXT PRIMARY KEY, "
    "at DOUBLE PRECISION NOT NULL, operator TEXT NOT NULL, submission_id TEXT, "
    "what TEXT NOT NULL, purpose TEXT NOT NULL, channel TEXT NOT NULL)"
)
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS amtsweg_access_log_at ON amtsweg_access_log (at)",
    (
        "CREATE INDEX IF NOT EXISTS amtsweg_access_log_submission "
        "ON amtsweg_access_log (submission_id, at)"
    ),
    "CREATE INDEX IF NOT EXISTS amtsweg_access_log_operator ON amtsweg_access_log (operator, at)",
)
_REFUSAL = "amtsweg_access_log is append-only"
_SQLITE_TRIGGERS = tuple(
    f"CREATE TRIGGER IF NOT EXISTS amtsweg_access_log_no_{verb.lower()} BEFORE {verb} "
    f"ON amtsweg_access_log BEGIN SELECT RAISE(ABORT, '{_REFUSAL}: {verb} refused'); END"
    for verb in ("UPDATE", "DELETE")
)
_POSTGRES_TRIGGER = """
DO $$
BEGIN
  IF to_regprocedure('amtsweg_access_log_refuse()') IS NULL THEN
    CREATE FUNCTION amtsweg_access_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $body$
    BEGIN
      RAISE EXCEPTION USING MESSAGE = 'amtsweg_access_log is append-only: '
        || TG_OP || ' refused';
    END
    $body$;
  END IF;
  IF NOT EXISTS (
    SELECT 1 FROM pg_trigger
    WHERE tgrelid = 'amtsweg_access_log'::regclass AND tgname = 'amtsweg_access_log_append_only'
  ) THEN
    CREATE TRIGGER amtsweg_access_log_append_only
      BEFORE UPDATE OR DELETE OR TRUNCATE ON amtsweg_access_log
      FOR EACH STATEMENT EXECUTE FUNCTION amtsweg_access_log_refuse();
  END IF;
END
$$
"""
# Statements are built from the constant column names only; values are always bound.
_INSERT = f"INSERT INTO amtsweg_access_log ({', '.join(COLUMNS)}) VALUES ({{values}})"  # noqa: S608
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM amtsweg_access_log"  # noqa: S608
_WHERE = (
    ("submission_id", "submission_id = {p}"),
    ("operator", "operator = {p}"),
    ("since", "at >= {p}"),
    ("until", "at < {p}"),
)


class AccessLog:
    """The log's queries, for a DB-API connection and its placeholder style."""

    placeholder = "?"

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        raise NotImplementedError
        yield  # pragma: no cover

    def record(
        self,
        operator: str,
        what: Read,
        *,
        channel: Channel,
        purpose: str | None = None,
        submission_id: UUID | str | None = None,
    ) -> Access:
        """Append one entry (``purpose`` None or blank: :data:`NOT_STATED`)."""
        access = Access(
            entry=str(uuid.uuid4()),
            at=time.time(),
            operator=operator,
            submission_id=None if submission_id is None else str(submission_id),
            what=str(what),
            purpose=stated(purpose),
            channel=str(channel),
        )
        sql = _INSERT.format(values=", ".join([self.placeholder] * len(COLUMNS)))
        with self._transaction() as cursor:
            cursor.execute(sql, tuple(getattr(access, c) for c in COLUMNS))
        return access

    def entries(self, query: AccessQuery) -> list[Access]:
        """The entries matching ``query``, newest first."""
        values = {
            "submission_id": query.submission_id,
            "operator": query.operator,
            "since": query.since,
            "until": query.until,
        }
        clauses = [clause for name, clause in _WHERE if values[name] is not None]
        params: list[Any] = [values[name] for name, _ in _WHERE if values[name] is not None]
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        sql = f"{_SELECT}{where} ORDER BY at DESC, entry LIMIT {{p}}"
        with self._transaction() as cursor:
            cursor.execute(sql.format(p=self.placeholder), (*params, query.limit))
            return [_access(row) for row in cursor.fetchall()]

    def close(self) -> None:
        """Close the connection (the backends implement it)."""


def _access(values: Sequence[Any]) -> Access:
    return Access(**dict(zip(COLUMNS, values, strict=True)))


class SQLiteAccessLog(SQLiteTables, AccessLog):
    """In the ledger's SQLite file."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        with self._transaction() as cursor:
            for statement in (_TABLE, *_INDEXES, *_SQLITE_TRIGGERS):
                cursor.execute(statement)


class PostgresAccessLog(PostgresTables, AccessLog):
    """In the ledger's PostgreSQL database and schema."""

    def __init__(self, conninfo: str, schema: str) -> None:
        super().__init__(conninfo, schema)
        with self._schema_transaction() as cursor:  # the table, its function and trigger
            for statement in (_TABLE, *_INDEXES, _POSTGRES_TRIGGER):
                cursor.execute(statement)


def access_log(settings: LedgerSettings) -> AccessLog:
    """The access log beside the configured ledger."""
    path = settings.sqlite_path()
    if path is not None:
        return SQLiteAccessLog(str(path))
    assert settings.ledger_url is not None
    return PostgresAccessLog(settings.ledger_url, settings.ledger_schema)
