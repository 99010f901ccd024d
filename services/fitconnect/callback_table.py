"""FIT-Connect callbacks as rows: who is called where, and the callbacks still to make.

A *callback* belongs to an owner: ``destination:<id>`` (a subscriber sets it with
``PUT``/``PATCH /v1/destinations/{id}``) or ``submission:<id>`` (a sender gives it at
announce). Its secret is write-only on the API and sealed at rest like the destinations'
private keys: AES-256-GCM under a fresh data key that the vault's key-encryption key wraps,
bound to the owner. A destination's contact information, which a subscriber may set too,
is kept beside it.

The *outbox* holds each callback to make (``notice_id`` unique, so a notice is queued
once) with its attempts and when the next is due; the position in the ledger's
notification log up to which notices were queued is stored in the same transaction, so a
restart neither loses nor repeats one (:mod:`callbacks`). A notice carries ids only.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from events.tables import PostgresTables, SQLiteTables
from events.vault.cipher import open_sealed, seal
from events.vault.kek import KeyEncryptionKey

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS amtsweg_fitconnect_callbacks (
    owner TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    kek_id TEXT NOT NULL,
    wrapped_key {blob} NOT NULL,
    sealed_secret {blob} NOT NULL,
    updated_at TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS amtsweg_fitconnect_contacts (
    destination_id TEXT PRIMARY KEY,
    contact TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS amtsweg_fitconnect_callback_outbox (
    notice_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    due_at TEXT NOT NULL,
    done INTEGER NOT NULL,
    failure TEXT
)""",
    """CREATE TABLE IF NOT EXISTS amtsweg_fitconnect_callback_position (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL
)""",
)
_SET_CALLBACK = (
    "INSERT INTO amtsweg_fitconnect_callbacks (owner, url, kek_id, wrapped_key, sealed_secret, "
    "updated_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}) ON CONFLICT (owner) DO UPDATE SET "
    "url = excluded.url, kek_id = excluded.kek_id, wrapped_key = excluded.wrapped_key, "
    "sealed_secret = excluded.sealed_secret, updated_at = excluded.updated_at"
)
_CALLBACK = (
    "SELECT url, wrapped_key, sealed_secret FROM amtsweg_fitconnect_callbacks WHERE owner = {p}"
)
_REMOVE_CALLBACK = "DELETE FROM amtsweg_fitconnect_callbacks WHERE owner = {p}"
_SET_CONTACT = (
    "INSERT INTO amtsweg_fitconnect_contacts (destination_id, contact) VALUES ({p}, {p}) "
    "ON CONFLICT (destination_id) DO UPDATE SET contact = excluded.contact"
)
_CONTACT = "SELECT contact FROM amtsweg_fitconnect_contacts WHERE destination_id = {p}"
_ENQUEUE = (
    "INSERT INTO amtsweg_fitconnect_callback_outbox (notice_id, owner, body, attempts, due_at, "
    "done) VALUES ({p}, {p}, {p}, 0, {p}, 0) ON CONFLICT (notice_id) DO NOTHING"
)
_POSITION = "SELECT position FROM amtsweg_fitconnect_callback_position WHERE name = {p}"
_ADVANCE = (
    "INSERT INTO amtsweg_fitconnect_callback_position (name, position) VALUES ({p}, {p}) "
    "ON CONFLICT (name) DO UPDATE SET position = excluded.position"
)
_DUE = (
    "SELECT notice_id, owner, body, attempts FROM amtsweg_fitconnect_callback_outbox "
    "WHERE done = 0 AND due_at <= {p} ORDER BY due_at, notice_id LIMIT {p}"
)
_ATTEMPTED = (
    "UPDATE amtsweg_fitconnect_callback_outbox SET attempts = {p}, due_at = {p}, done = {p}, "
    "failure = {p} WHERE notice_id = {p} AND done = 0"
)
_NOTICE = (
    "SELECT notice_id, owner, body, attempts, done, failure "
    "FROM amtsweg_fitconnect_callback_outbox WHERE notice_id = {p}"
)
_POSITION_NAME = "ledger"


@dataclass(frozen=True)
class Callback:
    """Where a callback goes and the secret its HMAC is made with."""

    url: str
    secret: str


@dataclass(frozen=True)
class Notice:
    """One callback to make: for ``owner``, this JSON body, after ``attempts`` failures."""

    notice_id: str
    owner: str
    body: dict[str, Any]
    attempts: int
    done: bool = False
    failure: str | None = None


def destination_owner(destination_id: object) -> str:
    """The callback owner of a destination (its subscriber's callback)."""
    return f"destination:{destination_id}"


def submission_owner(submission_id: object) -> str:
    """The callback owner of a submission (its sender's callback)."""
    return f"submission:{submission_id}"


class CallbackTable:
    """The rows, in SQLite or PostgreSQL; secrets sealed under ``kek``."""

    def __init__(
        self, database: SQLiteTables | PostgresTables, blob: str, kek: KeyEncryptionKey
    ) -> None:
        self._db = database
        self._kek = kek
        with self._db._schema_transaction() as cursor:
            for statement in _SCHEMA:
                cursor.execute(statement.format(blob=blob), ())

    @classmethod
    def sqlite(cls, path: Path, kek: KeyEncryptionKey) -> CallbackTable:
        """The table in a SQLite file (beside the key store)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(SQLiteTables(str(path)), "BLOB", kek)

    @classmethod
    def postgres(cls, conninfo: str, schema: str, kek: KeyEncryptionKey) -> CallbackTable:
        """The table in a PostgreSQL schema."""
        return cls(PostgresTables(conninfo, schema), "BYTEA", kek)

    def set_callback(self, owner: str, callback: Callback) -> None:
        """Set (or replace) the owner's callback, its secret sealed."""
        context = _context(owner)
        data_key = secrets.token_bytes(32)
        values = (
            owner,
            callback.url,
            self._kek.key_id,
            self._kek.wrap(data_key, context.encode()),
            seal(data_key, context, callback.secret.encode()),
            _now(),
        )
        self._execute(self._sql(_SET_CALLBACK), values)

    def remove_callback(self, owner: str) -> None:
        """Forget the owner's callback (no more callbacks to it)."""
        self._execute(self._sql(_REMOVE_CALLBACK), (owner,))

    def callback_url(self, owner: str) -> str | None:
        """The owner's callback URL (the secret stays sealed), or None."""
        row = self._one(_CALLBACK, (owner,))
        return None if row is None else str(row[0])

    def callback(self, owner: str) -> Callback | None:
        """The owner's callback with its secret opened, or None."""
        row = self._one(_CALLBACK, (owner,))
        if row is None:
            return None
        context = _context(owner)
        data_key = self._kek.unwrap(bytes(row[1]), context.encode())
        return Callback(str(row[0]), open_sealed(data_key, context, bytes(row[2])).decode())

    def set_contact(self, destination_id: str, contact: dict[str, Any]) -> None:
        """Set the destination's contact information."""
        self._execute(self._sql(_SET_CONTACT), (destination_id, json.dumps(contact)))

    def contact(self, destination_id: str) -> dict[str, Any] | None:
        """The contact information a subscriber set, or None."""
        row = self._one(_CONTACT, (destination_id,))
        return None if row is None else dict(json.loads(row[0]))

    def position(self, name: str = _POSITION_NAME) -> int:
        """Up to where a shard's notification log was read for notices (``ledger-shard<k>``)."""
        row = self._one(_POSITION, (name,))
        return 0 if row is None else int(row[0])

    def advance(
        self, position: int, notices: list[Notice], now: datetime, name: str = _POSITION_NAME
    ) -> None:
        """Queue ``notices`` (each once, due ``now``) and store the new position, in one
        transaction."""
        due = _iso(now)
        with self._db._transaction() as cursor:
            for notice in notices:
                values = (notice.notice_id, notice.owner, json.dumps(notice.body), due)
                cursor.execute(self._sql(_ENQUEUE), values)
            cursor.execute(self._sql(_ADVANCE), (name, position))

    def due(self, now: datetime, limit: int) -> list[Notice]:
        """Notices whose next attempt is due, oldest first."""
        with self._db._transaction() as cursor:
            cursor.execute(self._sql(_DUE), (_iso(now), limit))
            rows = cursor.fetchall()
        return [Notice(row[0], row[1], json.loads(row[2]), int(row[3])) for row in rows]

    def attempted(
        self, notice_id: str, attempts: int, *, done: bool, due_at: datetime, failure: str | None
    ) -> None:
        """Record an attempt: delivered or given up (``done``), or due again at ``due_at``."""
        values = (attempts, _iso(due_at), int(done), failure, notice_id)
        self._execute(self._sql(_ATTEMPTED), values)

    def notice(self, notice_id: str) -> Notice | None:
        """A queued notice as it stands."""
        row = self._one(_NOTICE, (notice_id,))
        if row is None:
            return None
        return Notice(row[0], row[1], json.loads(row[2]), int(row[3]), bool(row[4]), row[5])

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def _one(self, statement: str, params: tuple[Any, ...]) -> Any:
        with self._db._transaction() as cursor:
            cursor.execute(self._sql(statement), params)
            return cursor.fetchone()

    def _sql(self, statement: str) -> str:
        return statement.format(p=self._db.placeholder)

    def _execute(self, statement: str, params: tuple[Any, ...]) -> None:
        with self._db._transaction() as cursor:
            cursor.execute(statement, params)


def _context(owner: str) -> str:
    """What a callback secret is bound to: its owner (it cannot be moved)."""
    return f"amtsweg:fit-connect-callback:{owner}"


def _now() -> str:
    return _iso(datetime.now(UTC))


def _iso(moment: datetime) -> str:
    """UTC with microseconds always, so that the text sorts as the time does."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
