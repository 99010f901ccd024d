"""The key store: one data key per submission, wrapped by the key-encryption key.

Mutable and outside the immutable ledger (its own SQLite file by default, a table of
the ledger's PostgreSQL database otherwise); back it up separately from the ledger and
the blobs. Destroying a submission's key (crypto-shredding) overwrites the wrapped key
and leaves a tombstone, so the key can never be created again under the same id.

SQLite runs with ``secure_delete`` (freed and overwritten content is zeroed in the file)
in WAL mode, every commit synced (a key lost would lose its submission's content);
each destruction checkpoints the WAL into the file and truncates it, so a destroyed key's
old page leaves the WAL too. On PostgreSQL the old row version stays until ``VACUUM``, which
``vacuum()`` runs. The retention job calls it after its erasures.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg

from events.lifecycle import ContentErasedError
from events.tables import PostgresTables, SQLiteTables
from events.vault.kek import KeyEncryptionKey, KeyEncryptionKeyError

CHECK_CONTEXT = b"amtsweg:key-store-check"
CACHE_SIZE = 4096
CACHE_SECONDS = 30.0
"""How long an unwrapped key is used without asking the store again: an erasure in
another process takes effect here within this time (a stage reading a blob that is gone
asks at once, see ``Vault.read``)."""


class KeyNotFoundError(Exception):
    """The key store holds no data key for this submission."""


@dataclass(frozen=True)
class KeyState:
    """What the key store knows of one submission's key."""

    created_at: str | None
    destroyed_at: str | None

    @property
    def live(self) -> bool:
        """A usable key exists."""
        return self.created_at is not None and self.destroyed_at is None


_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS amtsweg_data_keys (
        submission_id TEXT PRIMARY KEY,
        kek_id TEXT NOT NULL,
        wrapped {blob},
        created_at TEXT NOT NULL,
        destroyed_at TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS amtsweg_key_check (
        id INTEGER PRIMARY KEY,
        kek_id TEXT NOT NULL,
        probe {blob} NOT NULL
    )""",
)


_CREATE = (
    "INSERT INTO amtsweg_data_keys (submission_id, kek_id, wrapped, created_at) "
    "VALUES ({p}, {p}, {p}, {p}) ON CONFLICT (submission_id) DO NOTHING"
)
_STATE = "SELECT created_at, destroyed_at FROM amtsweg_data_keys WHERE submission_id = {p}"
_ROW = "SELECT kek_id, wrapped FROM amtsweg_data_keys WHERE submission_id = {p}"
_DESTROY = (
    "UPDATE amtsweg_data_keys SET wrapped = NULL, destroyed_at = {p} "
    "WHERE submission_id = {p} AND destroyed_at IS NULL"
)
_TOMBSTONE = (
    "INSERT INTO amtsweg_data_keys (submission_id, kek_id, wrapped, created_at, destroyed_at) "
    "VALUES ({p}, {p}, NULL, {p}, {p}) ON CONFLICT (submission_id) DO NOTHING"
)
_FORGET = "DELETE FROM amtsweg_data_keys WHERE submission_id = {p}"
_LIVE_BEFORE = (
    "SELECT submission_id FROM amtsweg_data_keys "
    "WHERE destroyed_at IS NULL AND created_at < {p} ORDER BY created_at LIMIT {p}"
)
_READ_CHECK = "SELECT kek_id, probe FROM amtsweg_key_check WHERE id = 1"
_WRITE_CHECK = (
    "INSERT INTO amtsweg_key_check (id, kek_id, probe) VALUES (1, {p}, {p}) "
    "ON CONFLICT (id) DO NOTHING"
)


class KeyStore:
    """Data keys by submission id, in SQLite or PostgreSQL."""

    def __init__(self, database: _Database, kek: KeyEncryptionKey) -> None:
        self._db = database
        self._kek = kek
        self._cache: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._lock = threading.Lock()
        with self._db._schema_transaction() as cursor:
            for statement in _SCHEMA:
                cursor.execute(statement.format(blob=self._db.blob))
        self._check_kek()

    @classmethod
    def sqlite(cls, path: Path, kek: KeyEncryptionKey) -> KeyStore:
        """A key store in its own SQLite file."""
        return cls(_SQLite(path), kek)

    @classmethod
    def postgres(cls, conninfo: str, schema: str, kek: KeyEncryptionKey) -> KeyStore:
        """A key store as a table of a PostgreSQL database."""
        return cls(_Postgres(conninfo, schema), kek)

    @property
    def kek_id(self) -> str:
        """The key-encryption key in use."""
        return self._kek.key_id

    @property
    def kek(self) -> KeyEncryptionKey:
        """The key-encryption key itself, for other secrets kept wrapped by it (the
        FIT-Connect destinations' private keys)."""
        return self._kek

    def create(self, submission_id: UUID) -> bytes:
        """The submission's data key, created on first use; ``ContentErasedError`` after erasure."""
        self.create_all([submission_id])  # cached now, unless it existed or was destroyed
        cached = self._cached(str(submission_id))
        return cached if cached is not None else self.data_key(submission_id)

    def create_all(self, submission_ids: Iterable[UUID]) -> None:
        """Create in one transaction the data keys of those of ``submission_ids`` that have
        none (a batch of new submissions: one commit instead of one each); ``create`` then
        finds them cached. A submission whose key existed, or was destroyed, is left to
        ``create``."""
        fresh: list[tuple[str, bytes]] = []
        for submission_id in submission_ids:
            sid = str(submission_id)
            if self._cached(sid) is None:
                fresh.append((sid, secrets.token_bytes(32)))
        if not fresh:
            return
        created_at = _now()
        created: list[tuple[str, bytes]] = []
        with self._db.transaction() as cursor:
            for sid, key in fresh:
                wrapped = self._kek.wrap(key, sid.encode())
                cursor.execute(self._db.sql(_CREATE), (sid, self._kek.key_id, wrapped, created_at))
                if cursor.rowcount == 1:
                    created.append((sid, key))
        for sid, key in created:
            self._remember(sid, key)

    def data_key(self, submission_id: UUID) -> bytes:
        """The submission's data key; ``KeyNotFoundError`` or ``ContentErasedError``."""
        sid = str(submission_id)
        cached = self._cached(sid)
        if cached is not None:
            return cached
        row = self._fetch(_ROW, (sid,))
        if row is None:
            raise KeyNotFoundError(sid)
        if row[1] is None:
            raise ContentErasedError(sid)
        key = self._kek.unwrap(bytes(row[1]), sid.encode())
        self._remember(sid, key)
        return key

    def _remember(self, sid: str, key: bytes) -> None:
        with self._lock:
            self._cache[sid] = (key, time.monotonic() + CACHE_SECONDS)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def forget_cached(self, submission_id: UUID) -> None:
        """Ask the store again next time (the key may have been destroyed elsewhere)."""
        with self._lock:
            self._cache.pop(str(submission_id), None)

    def _cached(self, sid: str) -> bytes | None:
        with self._lock:
            entry = self._cache.get(sid)
            if entry is None:
                return None
            if entry[1] < time.monotonic():
                del self._cache[sid]
                return None
            self._cache.move_to_end(sid)
            return entry[0]

    def state(self, submission_id: UUID) -> KeyState:
        """Whether a key was created and whether it is destroyed."""
        row = self._fetch(_STATE, (str(submission_id),))
        return KeyState(None, None) if row is None else KeyState(row[0], row[1])

    def destroy(self, submission_id: UUID) -> bool:
        """Destroy the data key (a tombstone stays); True if a key was destroyed now."""
        sid = str(submission_id)
        with self._lock:
            self._cache.pop(sid, None)
        now = _now()
        with self._db.transaction() as cursor:
            cursor.execute(self._db.sql(_DESTROY), (now, sid))
            destroyed = bool(cursor.rowcount > 0)
            cursor.execute(self._db.sql(_TOMBSTONE), (sid, self._kek.key_id, now, now))
        self._db.after_destroy()
        return destroyed

    def forget(self, submission_id: UUID) -> None:
        """Remove an orphan key (one whose submission was never recorded) entirely."""
        with self._lock:
            self._cache.pop(str(submission_id), None)
        self._execute(_FORGET, (str(submission_id),))

    def live_keys_created_before(self, cutoff: datetime, limit: int = 1000) -> list[UUID]:
        """Submissions with a live key created before ``cutoff`` (orphan candidates)."""
        with self._db.transaction() as cursor:
            cursor.execute(
                self._db.sql(_LIVE_BEFORE), (cutoff.astimezone(UTC).isoformat(), int(limit))
            )
            return [UUID(row[0]) for row in cursor.fetchall()]

    def vacuum(self) -> None:
        """Let the database drop the old versions of destroyed keys (PostgreSQL)."""
        self._db.vacuum()

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def _execute(self, statement: str, params: tuple[Any, ...]) -> None:
        with self._db.transaction() as cursor:
            cursor.execute(self._db.sql(statement), params)

    def _fetch(self, statement: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        with self._db.transaction() as cursor:
            cursor.execute(self._db.sql(statement), params)
            row: tuple[Any, ...] | None = cursor.fetchone()
        return row

    def _check_kek(self) -> None:
        """Refuse a KEK that is not the one this key store was made with."""
        row = self._fetch(_READ_CHECK, ())
        if row is None:
            probe = self._kek.wrap(secrets.token_bytes(32), CHECK_CONTEXT)
            self._execute(_WRITE_CHECK, (self._kek.key_id, probe))
            row = self._fetch(_READ_CHECK, ())  # another process may have written first
            assert row is not None
        try:
            self._kek.unwrap(bytes(row[1]), CHECK_CONTEXT)
        except KeyEncryptionKeyError:
            msg = (
                f"the key-encryption key {self._kek.key_id!r} does not open this key store "
                f"(it was made with {row[0]!r}): configure the key it was made with "
                "(AMTSWEG_KEK_FILE); without it no stored content can be read"
            )
            raise KeyEncryptionKeyError(msg) from None


def _now() -> str:
    return datetime.now(UTC).isoformat()


class _Database:
    """What the key store adds to the shared SQLite / PostgreSQL plumbing (``events.tables``)."""

    placeholder: str
    blob: str

    def _transaction(self) -> Any:  # pragma: no cover - from events.tables
        raise NotImplementedError

    def _schema_transaction(self) -> Any:  # pragma: no cover - from events.tables
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - from events.tables
        raise NotImplementedError

    def transaction(self) -> Any:
        """A cursor inside one transaction."""
        return self._transaction()

    def sql(self, statement: str) -> str:
        """``statement`` with this database's placeholder."""
        return statement.format(p=self.placeholder)

    def vacuum(self) -> None:
        """Let the database drop old row versions (overridden where there is something to do)."""

    def after_destroy(self) -> None:
        """Drop the destroyed key's old copy where that is cheap (SQLite's WAL)."""


class _SQLite(SQLiteTables, _Database):
    blob = "BLOB"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(str(path))
        self._connection.execute("PRAGMA secure_delete = ON")
        self._connection.execute("PRAGMA journal_mode = WAL")
        self._connection.execute("PRAGMA synchronous = FULL")  # a lost key loses content

    def vacuum(self) -> None:
        with self._lock:
            self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def after_destroy(self) -> None:
        self.vacuum()


class _Postgres(PostgresTables, _Database):
    blob = "BYTEA"

    def vacuum(self) -> None:
        options = f"-c search_path={self._schema}"
        with closing(psycopg.connect(self._conninfo, autocommit=True, options=options)) as db:
            db.execute("VACUUM amtsweg_data_keys")
