"""The destinations' encryption keys as rows: one per (destination, generation).

A row is first a *claim* (``public_jwk`` NULL): the process that inserted it makes the key
(RSA-4096 takes seconds), then completes the row. A second process finds the claim and
waits for it, so a key is made once per destination and generation even when several
processes ask at once; a claim left by a process that died is taken over after
:data:`STALE_CLAIM_SECONDS`. Complete rows never change: a rotation adds a generation, and
retiring a key adds a row to ``amtsweg_fitconnect_key_retirements`` (a retired key is kept,
so the trail of what it decrypted stays explained, but it decrypts nothing more).

The private key is stored sealed (AES-256-GCM) under a fresh data key, which is wrapped by
the vault's key-encryption key (as the submissions' data keys are), bound to destination
and ``kid``. The table lives beside the key store (``keys.sqlite3`` beside a SQLite ledger,
or the key store's PostgreSQL schema).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from events.tables import PostgresTables, SQLiteTables

STALE_CLAIM_SECONDS = 300.0

_SCHEMA = """CREATE TABLE IF NOT EXISTS amtsweg_fitconnect_keys (
    destination_id TEXT NOT NULL,
    generation INTEGER NOT NULL,
    claim TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    kid TEXT UNIQUE,
    thumbprint TEXT,
    public_jwk TEXT,
    kek_id TEXT,
    wrapped_key {blob},
    sealed_private {blob},
    created_at TEXT,
    PRIMARY KEY (destination_id, generation)
)"""
_RETIREMENTS = """CREATE TABLE IF NOT EXISTS amtsweg_fitconnect_key_retirements (
    destination_id TEXT NOT NULL,
    kid TEXT NOT NULL,
    retired_at TEXT NOT NULL,
    PRIMARY KEY (destination_id, kid)
)"""
_CLAIM = (
    "INSERT INTO amtsweg_fitconnect_keys (destination_id, generation, claim, claimed_at) "
    "VALUES ({p}, {p}, {p}, {p}) ON CONFLICT (destination_id, generation) DO NOTHING"
)
_TAKE_OVER = (
    "UPDATE amtsweg_fitconnect_keys SET claim = {p}, claimed_at = {p} "
    "WHERE destination_id = {p} AND generation = {p} AND claim = {p} AND public_jwk IS NULL"
)
_COMPLETE = (
    "UPDATE amtsweg_fitconnect_keys SET kid = {p}, thumbprint = {p}, public_jwk = {p}, "
    "kek_id = {p}, wrapped_key = {p}, sealed_private = {p}, created_at = {p} "
    "WHERE destination_id = {p} AND generation = {p} AND claim = {p} AND public_jwk IS NULL"
)
_ROWS = (
    "SELECT k.generation, k.claim, k.claimed_at, k.kid, k.thumbprint, k.public_jwk, "
    "k.created_at, r.retired_at FROM amtsweg_fitconnect_keys k "
    "LEFT JOIN amtsweg_fitconnect_key_retirements r "
    "ON r.destination_id = k.destination_id AND r.kid = k.kid "
    "WHERE k.destination_id = {p} ORDER BY k.generation DESC"
)
_USABLE = (
    "SELECT k.kid FROM amtsweg_fitconnect_keys k WHERE k.destination_id = {p} "
    "AND (k.kid = {p} OR k.thumbprint = {p}) AND k.public_jwk IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM amtsweg_fitconnect_key_retirements r "
    "WHERE r.destination_id = k.destination_id AND r.kid = k.kid)"
)
_SEALED = (
    "SELECT k.kid, k.kek_id, k.wrapped_key, k.sealed_private FROM amtsweg_fitconnect_keys k "
    "WHERE k.destination_id = {p} AND (k.kid = {p} OR k.thumbprint = {p}) "
    "AND k.public_jwk IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM amtsweg_fitconnect_key_retirements r "
    "WHERE r.destination_id = k.destination_id AND r.kid = k.kid)"
)
_RETIRE = (
    "INSERT INTO amtsweg_fitconnect_key_retirements (destination_id, kid, retired_at) "
    "VALUES ({p}, {p}, {p}) ON CONFLICT (destination_id, kid) DO NOTHING"
)


@dataclass(frozen=True)
class KeyRow:
    """One generation of a destination's key: complete (``public_jwk``) or only claimed."""

    generation: int
    claim: str
    claimed_at: str
    kid: str | None
    thumbprint: str | None
    public_jwk: str | None
    created_at: str | None = None
    """When the key was made (None while only claimed)."""
    retired_at: str | None = None
    """When an operator retired the key (it no longer decrypts), or None."""


@dataclass(frozen=True)
class SealedSecret:
    """A private key as stored: sealed, its data key wrapped by the KEK."""

    kid: str
    kek_id: str
    wrapped_key: bytes
    sealed_private: bytes


@dataclass(frozen=True)
class Completion:
    """What completes a claimed row."""

    kid: str
    thumbprint: str
    public_jwk: str
    kek_id: str
    wrapped_key: bytes
    sealed_private: bytes


class KeyTable:
    """The rows, in SQLite or PostgreSQL."""

    def __init__(self, database: SQLiteTables | PostgresTables, blob: str) -> None:
        self._db = database
        with self._db._schema_transaction() as cursor:
            cursor.execute(_SCHEMA.format(blob=blob), ())
            cursor.execute(_RETIREMENTS, ())

    @classmethod
    def sqlite(cls, path: Path) -> KeyTable:
        """The table in a SQLite file (the key store's)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(SQLiteTables(str(path)), "BLOB")

    @classmethod
    def postgres(cls, conninfo: str, schema: str) -> KeyTable:
        """The table in a PostgreSQL schema (the key store's)."""
        return cls(PostgresTables(conninfo, schema), "BYTEA")

    def rows(self, destination: str) -> list[KeyRow]:
        """Every generation of the destination, newest first."""
        with self._db._transaction() as cursor:
            cursor.execute(self._sql(_ROWS), (destination,))
            return [KeyRow(*row) for row in cursor.fetchall()]

    def claim(self, destination: str, generation: int, claim: str) -> bool:
        """Claim a generation; False if another process did first."""
        return self._changed(_CLAIM, (destination, generation, claim, _now()))

    def take_over(self, destination: str, generation: int, stale: str, claim: str) -> bool:
        """Take a stale claim over; False if it changed meanwhile."""
        return self._changed(_TAKE_OVER, (claim, _now(), destination, generation, stale))

    def complete(self, destination: str, generation: int, claim: str, done: Completion) -> bool:
        """Complete a claimed row with its key; False if the claim is no longer ours."""
        values = (
            done.kid,
            done.thumbprint,
            done.public_jwk,
            done.kek_id,
            done.wrapped_key,
            done.sealed_private,
            _now(),
        )
        return self._changed(_COMPLETE, (*values, destination, generation, claim))

    def usable(self, destination: str, kid_or_thumbprint: str) -> str | None:
        """The ``kid`` of the complete, unretired key a ``kid`` or thumbprint names."""
        with self._db._transaction() as cursor:
            cursor.execute(self._sql(_USABLE), (destination, kid_or_thumbprint, kid_or_thumbprint))
            row = cursor.fetchone()
        return None if row is None else str(row[0])

    def retire(self, destination: str, kid: str) -> bool:
        """Retire a key for good; False if it was retired before."""
        return self._changed(_RETIRE, (destination, kid, _now()))

    def secret(self, destination: str, kid_or_thumbprint: str) -> SealedSecret | None:
        """The sealed private key of a complete, unretired row, by ``kid`` or RFC 7638
        thumbprint."""
        with self._db._transaction() as cursor:
            cursor.execute(self._sql(_SEALED), (destination, kid_or_thumbprint, kid_or_thumbprint))
            row = cursor.fetchone()
        if row is None:
            return None
        return SealedSecret(row[0], row[1], bytes(row[2]), bytes(row[3]))

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def _sql(self, statement: str) -> str:
        return statement.format(p=self._db.placeholder)

    def _changed(self, statement: str, params: tuple[Any, ...]) -> bool:
        with self._db._transaction() as cursor:
            cursor.execute(self._sql(statement), params)
            return bool(cursor.rowcount == 1)

    def _execute(self, statement: str, params: tuple[Any, ...]) -> None:
        with self._db._transaction() as cursor:
            cursor.execute(statement, params)


def claimed_seconds_ago(row: KeyRow) -> float:
    """How long ago the row was claimed."""
    return (datetime.now(UTC) - datetime.fromisoformat(row.claimed_at)).total_seconds()


def _now() -> str:
    return datetime.now(UTC).isoformat()
