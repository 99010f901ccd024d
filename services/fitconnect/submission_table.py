"""Announced FIT-Connect submissions and their uploaded attachments, as rows.

A sender announces a submission (``POST /v1/submissions``) before it uploads attachments
and submits; until then the ledger knows nothing of it, so the announcement lives here:
its destination, sender, case, service and announced attachment ids, and for each uploaded
attachment the vault blob that holds its JWE as received. Once submitted, the row keeps
the answer (so a second submit is answered the same) and the authentication tags of the
JWEs received (metadata, data, each attachment): FIT-Connect's events name them, so the
event log can prove which ciphertexts were received. The table lives beside the
destinations' keys (the key store's database).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from events.tables import PostgresTables, SQLiteTables

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS amtsweg_fitconnect_submissions (
    submission_id TEXT PRIMARY KEY,
    destination_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    service_type TEXT NOT NULL,
    announced TEXT NOT NULL,
    created_at TEXT NOT NULL,
    submitted TEXT,
    authentication_tags TEXT
)""",
    """CREATE TABLE IF NOT EXISTS amtsweg_fitconnect_attachments (
    submission_id TEXT NOT NULL,
    attachment_id TEXT NOT NULL,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (submission_id, attachment_id)
)""",
)
_ANNOUNCE = (
    "INSERT INTO amtsweg_fitconnect_submissions (submission_id, destination_id, client_id, "
    "case_id, service_type, announced, created_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p})"
)
_GET = (
    "SELECT submission_id, destination_id, client_id, case_id, service_type, announced, "
    "submitted, authentication_tags FROM amtsweg_fitconnect_submissions WHERE submission_id = {p}"
)
_OF_CASE = (
    "SELECT submission_id, destination_id, client_id, case_id, service_type, announced, "
    "submitted, authentication_tags FROM amtsweg_fitconnect_submissions WHERE case_id = {p} "
    "ORDER BY created_at, submission_id"
)
_OPEN = (
    "SELECT submission_id, created_at FROM amtsweg_fitconnect_submissions "
    "WHERE destination_id = {p} AND submitted IS NULL ORDER BY created_at, submission_id"
)
_UPLOADED = (
    "SELECT attachment_id, blob, size FROM amtsweg_fitconnect_attachments WHERE submission_id = {p}"
)
_UPLOAD = (
    "INSERT INTO amtsweg_fitconnect_attachments (submission_id, attachment_id, blob, size) "
    "VALUES ({p}, {p}, {p}, {p}) ON CONFLICT (submission_id, attachment_id) "
    "DO UPDATE SET blob = excluded.blob, size = excluded.size"
)
_SUBMITTED = (
    "UPDATE amtsweg_fitconnect_submissions SET submitted = {p}, authentication_tags = {p} "
    "WHERE submission_id = {p} AND submitted IS NULL"
)


@dataclass(frozen=True)
class Announcement:
    """An announced submission."""

    submission_id: str
    destination_id: str
    client_id: str
    case_id: str
    service_type: dict[str, Any]
    """The announce's ``serviceType`` (``name``, ``identifier``, maybe ``description``)."""
    announced: tuple[str, ...]
    """The announced attachment ids."""
    submitted: dict[str, Any] | None
    """What the submit recorded (its answer), or None before it."""
    authentication_tags: AuthenticationTags | None = None
    """The tags of the JWEs the submit received, or None before it."""


@dataclass(frozen=True)
class AuthenticationTags:
    """The authentication tags (base64url) of a submission's JWEs, as received."""

    metadata: str
    data: str | None
    attachments: dict[str, str]
    """attachmentId -> tag"""

    def as_event(self) -> dict[str, Any]:
        """FIT-Connect's ``authenticationTags`` object of an event."""
        tags: dict[str, Any] = {"metadata": self.metadata}
        if self.data is not None:
            tags["data"] = self.data
        if self.attachments:
            tags["attachments"] = dict(sorted(self.attachments.items()))
        return tags

    @classmethod
    def of_event(cls, document: dict[str, Any]) -> AuthenticationTags:
        """The tags from :meth:`as_event`'s object."""
        return cls(document["metadata"], document.get("data"), document.get("attachments", {}))


@dataclass(frozen=True)
class Upload:
    """An attachment as received: the vault blob holding its JWE."""

    attachment_id: str
    blob: str
    size: int


class SubmissionTable:
    """The rows, in SQLite or PostgreSQL."""

    def __init__(self, database: SQLiteTables | PostgresTables) -> None:
        self._db = database
        for statement in _SCHEMA:
            with self._db._schema_transaction() as cursor:
                cursor.execute(statement, ())

    @classmethod
    def sqlite(cls, path: Path) -> SubmissionTable:
        """The table in a SQLite file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(SQLiteTables(str(path)))

    @classmethod
    def postgres(cls, conninfo: str, schema: str) -> SubmissionTable:
        """The table in a PostgreSQL schema."""
        return cls(PostgresTables(conninfo, schema))

    def announce(self, announcement: Announcement) -> None:
        """Record a new announcement (its id is fresh)."""
        values = (
            announcement.submission_id,
            announcement.destination_id,
            announcement.client_id,
            announcement.case_id,
            json.dumps(announcement.service_type, sort_keys=True),
            json.dumps(list(announcement.announced)),
            datetime.now(UTC).isoformat(),
        )
        with self._db._transaction() as cursor:
            cursor.execute(self._sql(_ANNOUNCE), values)

    def get(self, submission_id: str) -> Announcement | None:
        """The announcement, or None."""
        with self._db._transaction() as cursor:
            cursor.execute(self._sql(_GET), (submission_id,))
            row = cursor.fetchone()
        return None if row is None else _announcement(row)

    def of_case(self, case_id: str) -> list[Announcement]:
        """The case's announced submissions, oldest first."""
        with self._db._transaction() as cursor:
            cursor.execute(self._sql(_OF_CASE), (case_id,))
            rows = cursor.fetchall()
        return [_announcement(row) for row in rows]

    def open_of_destination(self, destination_id: str) -> list[tuple[str, str]]:
        """The destination's announced submissions not submitted yet, oldest first: their
        ids and when they were announced (ISO 8601)."""
        with self._db._transaction() as cursor:
            cursor.execute(self._sql(_OPEN), (destination_id,))
            rows = cursor.fetchall()
        return [(str(row[0]), str(row[1])) for row in rows]

    def uploads(self, submission_id: str) -> dict[str, Upload]:
        """The attachments uploaded so far, by id."""
        with self._db._transaction() as cursor:
            cursor.execute(self._sql(_UPLOADED), (submission_id,))
            rows = cursor.fetchall()
        return {row[0]: Upload(row[0], row[1], int(row[2])) for row in rows}

    def upload(self, submission_id: str, upload: Upload) -> None:
        """Record (or replace) an uploaded attachment."""
        values = (submission_id, upload.attachment_id, upload.blob, upload.size)
        with self._db._transaction() as cursor:
            cursor.execute(self._sql(_UPLOAD), values)

    def mark_submitted(
        self, submission_id: str, answer: dict[str, Any], tags: AuthenticationTags
    ) -> bool:
        """Record the submit's answer and the received JWEs' tags; False if another submit
        recorded them first."""
        values = (json.dumps(answer), json.dumps(tags.as_event()), submission_id)
        with self._db._transaction() as cursor:
            cursor.execute(self._sql(_SUBMITTED), values)
            return bool(cursor.rowcount == 1)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def _sql(self, statement: str) -> str:
        return statement.format(p=self._db.placeholder)


def _announcement(row: Any) -> Announcement:
    return Announcement(
        row[0],
        row[1],
        row[2],
        row[3],
        json.loads(row[4]),
        tuple(json.loads(row[5])),
        json.loads(row[6]) if row[6] is not None else None,
        AuthenticationTags.of_event(json.loads(row[7])) if row[7] is not None else None,
    )
