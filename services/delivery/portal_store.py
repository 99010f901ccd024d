"""The portals' follow-up read model: callbacks still to make, requests still open.

Derived from the ledger's events only, read from the notification log from the stored
position; rows and the new position are saved in one transaction, and a row changes only
to a newer event version, so a restart neither loses nor repeats a step, and a second
projector (another process) writes the same rows.

- ``amtsweg_portal_notices``: one row per callback to a portal — ``reply:<reply id>``
  (queued by ``Replied``) or ``overdue:<reply id>`` (``RequestOverdue``), only for a portal
  with a callback URL. ``PortalNotified`` ends it, ``PortalNotificationFailed`` makes it due
  again at its ``retry_at`` or, without one, a dead letter; ``ContentErased`` drops what is
  still pending. ``seq`` is the position of the event that queued it: a case's notices go
  out in that order, the next only once the one before was delivered or given up.
- ``amtsweg_open_requests``: one row per request for documents (``Replied`` of kind
  ``request``) with its deadline, closed by the supplement that answers it, by
  ``RequestOverdue`` or by ``ContentErased``.

The notice body names ids only (the portal pulls the content with its token).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import structlog

from events.ledger import Ledger, SubmissionNotFoundError
from events.settings import LedgerSettings
from events.shards import shard_name
from events.submission import Submission
from events.tables import PostgresTables, SQLiteTables

log = structlog.get_logger(__name__)

CALLBACK_TYPE = "https://amtsweg.de/callbacks/replies"
PROJECTION = "portal-follow-up"
PENDING, DELIVERED, DEAD, DROPPED = "pending", "delivered", "dead-letter", "dropped"
"""A notice's states (spelled out in the statements below)."""

_TABLES = (
    (
        "CREATE TABLE IF NOT EXISTS amtsweg_portal_notices (notice_key TEXT PRIMARY KEY, "
        "submission_id TEXT NOT NULL, notice TEXT NOT NULL, case_id TEXT NOT NULL, "
        "portal_id TEXT NOT NULL, seq BIGINT NOT NULL, body TEXT NOT NULL, "
        "version INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL, "
        "due_at DOUBLE PRECISION, failure TEXT, updated_at DOUBLE PRECISION NOT NULL)"
    ),
    (
        "CREATE INDEX IF NOT EXISTS amtsweg_portal_notices_due "
        "ON amtsweg_portal_notices (state, due_at)"
    ),
    (
        "CREATE INDEX IF NOT EXISTS amtsweg_portal_notices_case "
        "ON amtsweg_portal_notices (case_id, state, seq)"
    ),
    (
        "CREATE INDEX IF NOT EXISTS amtsweg_portal_notices_of "
        "ON amtsweg_portal_notices (submission_id, state)"
    ),
    (
        "CREATE TABLE IF NOT EXISTS amtsweg_open_requests (submission_id TEXT NOT NULL, "
        "reply_id TEXT NOT NULL, due_at DOUBLE PRECISION NOT NULL, state TEXT NOT NULL, "
        "version INTEGER NOT NULL, PRIMARY KEY (submission_id, reply_id))"
    ),
    (
        "CREATE INDEX IF NOT EXISTS amtsweg_open_requests_due "
        "ON amtsweg_open_requests (state, due_at)"
    ),
    (
        "CREATE TABLE IF NOT EXISTS amtsweg_projection_position "
        "(projection TEXT PRIMARY KEY, position BIGINT NOT NULL)"
    ),
)
# The statements are constants (the states spelled out); values are bound.
_QUEUE = (
    "INSERT INTO amtsweg_portal_notices (notice_key, submission_id, notice, case_id, "
    "portal_id, seq, body, version, state, attempts, due_at, failure, updated_at) "
    "VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, 0, {p}, NULL, {p}) "
    "ON CONFLICT (notice_key) DO NOTHING"
)
_ATTEMPTED = (
    "UPDATE amtsweg_portal_notices SET attempts = {p}, due_at = {p}, state = {p}, "
    "failure = {p}, version = {p}, updated_at = {p} WHERE notice_key = {p} AND version < {p}"
)
_DROP = (
    "UPDATE amtsweg_portal_notices SET state = 'dropped', due_at = NULL, version = {p}, "
    "updated_at = {p} WHERE submission_id = {p} AND state = 'pending' AND version < {p}"
)
_OPEN = (
    "INSERT INTO amtsweg_open_requests (submission_id, reply_id, due_at, state, version) "
    "VALUES ({p}, {p}, {p}, 'open', {p}) ON CONFLICT (submission_id, reply_id) DO NOTHING"
)
_CLOSE = (
    "UPDATE amtsweg_open_requests SET state = 'closed', version = {p} "
    "WHERE submission_id = {p} AND reply_id = {p} AND version < {p}"
)
_CLOSE_ALL = (
    "UPDATE amtsweg_open_requests SET state = 'closed', version = {p} "
    "WHERE submission_id = {p} AND state = 'open' AND version < {p}"
)
_CLOSE_CHECKED = (
    "UPDATE amtsweg_open_requests SET state = 'closed' WHERE submission_id = {p} AND reply_id = {p}"
)
_ADVANCE = (
    "INSERT INTO amtsweg_projection_position (projection, position) VALUES ({p}, {p}) "
    "ON CONFLICT (projection) DO UPDATE SET position = excluded.position "
    "WHERE excluded.position > amtsweg_projection_position.position"
)
_SELECT_NOTICES = (
    "SELECT notice_key, submission_id, notice, case_id, portal_id, seq, body, version, state, "
    "attempts, due_at, failure, updated_at FROM amtsweg_portal_notices"
)
_DUE = (
    "SELECT notice_key, submission_id, notice, case_id, portal_id, seq, body, version, state, "
    "attempts, due_at, failure, updated_at FROM amtsweg_portal_notices AS n "
    "WHERE n.state = 'pending' AND n.due_at <= {p} AND NOT EXISTS (SELECT 1 FROM "
    "amtsweg_portal_notices AS e WHERE e.case_id = n.case_id AND e.state = 'pending' "
    "AND e.seq < n.seq) ORDER BY n.due_at, n.seq LIMIT {p}"
)
_NOTICES_OF = _SELECT_NOTICES + " WHERE submission_id = {p} ORDER BY seq"
_DEAD_LETTERS = _SELECT_NOTICES + " WHERE state = 'dead-letter' ORDER BY updated_at LIMIT {p}"
_REQUESTS_DUE = (
    "SELECT submission_id, reply_id FROM amtsweg_open_requests "
    "WHERE state = 'open' AND due_at <= {p} ORDER BY due_at, submission_id LIMIT {p}"
)


@dataclass(frozen=True)
class PortalNotice:
    """One callback to a portal, as it stands."""

    notice_key: str
    submission_id: str
    notice: str
    """``reply:<reply id>`` or ``overdue:<reply id>`` (as ``record_portal_callback`` names it)."""
    case_id: str
    portal_id: str
    seq: int
    body: dict[str, Any]
    version: int
    state: str
    attempts: int
    due_at: float | None
    failure: str | None
    updated_at: float


@dataclass(frozen=True)
class _Queue:
    notice: PortalNotice


@dataclass(frozen=True)
class _Attempted:
    notice_key: str
    version: int
    attempts: int
    due_at: float | None
    state: str
    failure: str | None
    at: float


@dataclass(frozen=True)
class _Drop:
    submission_id: str
    version: int
    at: float


@dataclass(frozen=True)
class _OpenRequest:
    submission_id: str
    reply_id: str
    due_at: float
    version: int


@dataclass(frozen=True)
class _CloseRequest:
    submission_id: str
    reply_id: str | None
    """None: every open request of the submission."""
    version: int


Change = _Queue | _Attempted | _Drop | _OpenRequest | _CloseRequest


def notice_key(submission_id: str, notice: str) -> str:
    """The row key of a submission's notice."""
    return f"{submission_id}:{notice}"


def parse_due(due: str) -> float | None:
    """A deadline (ISO 8601; without an offset: UTC) as a Unix time, None if unreadable."""
    try:
        moment = datetime.fromisoformat(due)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


class PortalStore:
    """The tables, in the ledger's SQLite file or PostgreSQL schema."""

    def __init__(self, database: SQLiteTables | PostgresTables) -> None:
        self._db = database
        with self._db._schema_transaction() as cursor:
            for statement in _TABLES:
                cursor.execute(statement)

    @classmethod
    def beside(cls, settings: LedgerSettings) -> PortalStore:
        """The store beside the configured ledger."""
        path = settings.sqlite_path()
        if path is not None:
            return cls(SQLiteTables(str(path)))
        assert settings.ledger_url is not None
        return cls(PostgresTables(settings.ledger_url, settings.ledger_schema))

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._db._transaction() as cursor:
            yield cursor

    def _sql(self, statement: str) -> str:
        return statement.format(p=self._db.placeholder)

    def _query(self, statement: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._transaction() as cursor:
            cursor.execute(self._sql(statement), params)
            return list(cursor.fetchall())

    def position(self, projection: str = PROJECTION) -> int:
        """Up to where a shard's notification log was read (``portal-follow-up-shard<k>``)."""
        found = self._query(
            "SELECT position FROM amtsweg_projection_position WHERE projection = {p}",
            (projection,),
        )
        return int(found[0][0]) if found else 0

    def save(self, position: int, changes: Iterable[Change], projection: str = PROJECTION) -> None:
        """Apply ``changes`` and store the new position, in one transaction."""
        with self._transaction() as cursor:
            for change in changes:
                statement, params = _statement(change)
                cursor.execute(self._sql(statement), params)
            cursor.execute(self._sql(_ADVANCE), (projection, position))

    def callbacks_due(self, now: float, limit: int) -> list[PortalNotice]:
        """Pending notices due now, each the oldest pending one of its case."""
        return [_notice(row) for row in self._query(_DUE, (now, limit))]

    def notices_of(self, submission_id: str) -> list[PortalNotice]:
        """A submission's notices, in the order they were queued."""
        return [_notice(row) for row in self._query(_NOTICES_OF, (submission_id,))]

    def dead_letters(self, limit: int) -> list[PortalNotice]:
        """Notices whose callback gave up, oldest first."""
        return [_notice(row) for row in self._query(_DEAD_LETTERS, (limit,))]

    def requests_due(self, now: float, limit: int) -> list[tuple[str, str]]:
        """Open requests (submission id, reply id) whose deadline passed, oldest first."""
        rows = self._query(_REQUESTS_DUE, (now, limit))
        return [(str(row[0]), str(row[1])) for row in rows]

    def close_request(self, submission_id: str, reply_id: str) -> None:
        """Stop checking a request (the submission said it is not open any more)."""
        with self._transaction() as cursor:
            cursor.execute(self._sql(_CLOSE_CHECKED), (submission_id, reply_id))

    def close(self) -> None:
        """Close the connection."""
        self._db.close()


def _statement(change: Change) -> tuple[str, tuple[Any, ...]]:
    match change:
        case _Queue(notice=n):
            values = (n.notice_key, n.submission_id, n.notice, n.case_id, n.portal_id, n.seq)
            rest = (json.dumps(n.body), n.version, n.state, n.due_at, n.updated_at)
            return _QUEUE, values + rest
        case _Attempted():
            c = change
            params = (c.attempts, c.due_at, c.state, c.failure, c.version, c.at)
            return _ATTEMPTED, (*params, c.notice_key, c.version)
        case _Drop(submission_id=sid, version=version, at=at):
            return _DROP, (version, at, sid, version)
        case _OpenRequest(submission_id=sid, reply_id=rid, due_at=due, version=version):
            return _OPEN, (sid, rid, due, version)
        case _CloseRequest(submission_id=sid, reply_id=None, version=version):
            return _CLOSE_ALL, (version, sid, version)
        case _CloseRequest(submission_id=sid, reply_id=rid, version=version):
            return _CLOSE, (version, sid, rid, version)
    raise AssertionError(change)  # pragma: no cover


def _notice(row: Sequence[Any]) -> PortalNotice:
    return PortalNotice(
        notice_key=str(row[0]),
        submission_id=str(row[1]),
        notice=str(row[2]),
        case_id=str(row[3]),
        portal_id=str(row[4]),
        seq=int(row[5]),
        body=dict(json.loads(row[6])),
        version=int(row[7]),
        state=str(row[8]),
        attempts=int(row[9]),
        due_at=None if row[10] is None else float(row[10]),
        failure=row[11],
        updated_at=float(row[12]),
    )


class PortalProjector:
    """Follows the notification log into a :class:`PortalStore` (blocking; run in a thread).

    ``has_callback(portal_id)`` says whether a portal takes callbacks (only those get
    notices queued); ``base_url`` is where the portal's ``href`` points.
    """

    def __init__(
        self,
        ledger: Ledger,
        store: PortalStore,
        has_callback: Callable[[str], bool],
        base_url: str = "",
        batch_size: int = 500,
    ) -> None:
        self.ledger = ledger
        self.store = store
        self._has_callback = has_callback
        self._base_url = base_url.rstrip("/")
        self._batch_size = batch_size

    def catch_up(self) -> int:
        """Apply every event not yet applied; how many notifications were read."""
        total = 0
        for index, shard in enumerate(self.ledger.shards):
            projection = shard_name(PROJECTION, index)
            while count := self._next_batch(shard, projection):
                total += count
        return total

    def _next_batch(self, shard: Ledger, projection: str) -> int:
        notifications = shard.recorder.select_notifications(
            self.store.position(projection), self._batch_size, inclusive_of_start=False
        )
        if not notifications:
            return 0
        changes: list[Change] = []
        owners: dict[UUID, tuple[str, str] | None] = {}
        for notification in notifications:
            event = shard.mapper.to_domain_event(notification)
            if isinstance(event, Submission.Event):
                changes.extend(self._changes(event, notification.id, owners))
        self.store.save(notifications[-1].id, changes, projection)
        return len(notifications)

    def _changes(
        self, event: Submission.Event, seq: int, owners: dict[UUID, tuple[str, str] | None]
    ) -> list[Change]:
        sid = str(event.originator_id)
        version = event.originator_version
        at = event.timestamp.timestamp()
        changes: list[Change] = []
        match event:
            case Submission.Replied():
                if event.due is not None:
                    due = parse_due(event.due)
                    if due is None:
                        log.warning("portal_follow_up.unreadable_due", reply_id=event.reply_id)
                    else:
                        changes.append(_OpenRequest(sid, event.reply_id, due, version))
                body = {"replyId": event.reply_id, "kind": event.kind}
                changes += self._queue(event, f"reply:{event.reply_id}", body, seq, owners)
            case Submission.RequestOverdue():
                body = {"replyId": event.reply_id, "event": "request-overdue"}
                changes.append(_CloseRequest(sid, event.reply_id, version))
                changes += self._queue(event, f"overdue:{event.reply_id}", body, seq, owners)
            case Submission.SupplementReceived(answers=str() as answers):
                changes.append(_CloseRequest(sid, answers, version))
            case Submission.PortalNotified():
                key = notice_key(sid, event.notice)
                changes.append(_Attempted(key, version, event.attempt, None, DELIVERED, None, at))
            case Submission.PortalNotificationFailed():
                due = None if event.retry_at is None else parse_due(event.retry_at)
                state = DEAD if due is None else PENDING
                key = notice_key(sid, event.notice)
                changes.append(
                    _Attempted(key, version, event.attempt, due, state, event.reason, at)
                )
            case Submission.ContentErased():
                changes += [_Drop(sid, version, at), _CloseRequest(sid, None, version)]
        return changes

    def _queue(
        self,
        event: Submission.Replied | Submission.RequestOverdue,
        notice: str,
        fields: dict[str, str],
        seq: int,
        owners: dict[UUID, tuple[str, str] | None],
    ) -> list[Change]:
        submission_id = event.originator_id
        if submission_id not in owners:
            owners[submission_id] = self._owner(submission_id)
        owner = owners[submission_id]
        if owner is None:
            return []
        portal_id, case_id = owner
        if not self._has_callback(portal_id):
            return []
        sid = str(submission_id)
        reply_id = fields["replyId"]
        body = {
            "type": CALLBACK_TYPE,
            "submissionId": sid,
            "caseId": case_id,
            **fields,
            "href": f"{self._base_url}/v1/submissions/{sid}/replies/{reply_id}",
        }
        at = event.timestamp.timestamp()
        row = PortalNotice(
            notice_key(sid, notice), sid, notice, case_id, portal_id, seq, body,
            event.originator_version, PENDING, 0, at, None, at,
        )  # fmt: skip
        return [_Queue(row)]

    def _owner(self, submission_id: UUID) -> tuple[str, str] | None:
        """The submission's portal and case (loaded once per batch)."""
        try:
            submission = self.ledger.get_submission(submission_id)
        except SubmissionNotFoundError:  # pragma: no cover - its events are in the log
            return None
        return submission.portal_id, submission.case_id
