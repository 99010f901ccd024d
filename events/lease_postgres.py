"""A lease of a PostgreSQL ledger: a lease row with a fencing token, and an advisory lock.

The holder keeps one connection for its term and holds a session advisory lock on it
(its key derived from schema and lease name, since advisory locks are database-wide).
The lock decides who holds the lease; when the holding process dies its connection
drops and the lock goes at once, so a standby takes over at its next attempt instead of
waiting out the lease. The row ``amtsweg_leases`` (holder, token, ``expires_at`` by the
database's clock) is renewed over that same connection, which proves the lock is still
held. A holder that stops renewing while its connection stays open (a paused process, a
host gone without closing its socket) expires: a standby then ends that session
(``pg_terminate_backend``, allowed among sessions of the same role) and takes the lock.
Every acquisition increments the token, so an old holder's fenced writes are refused.
"""

from __future__ import annotations

import hashlib

import psycopg
import structlog

from events.lease import LEASE_TABLE, Tenure
from events.tables import SCHEMA_LOCK

log = structlog.get_logger(__name__)

_TAKE = (
    "INSERT INTO amtsweg_leases (name, holder, token, expires_at) "
    "VALUES (%s, %s, 1, now() + make_interval(secs => %s)) "
    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
    "token = amtsweg_leases.token + 1, expires_at = excluded.expires_at "
    "RETURNING token"
)
_RENEW = (
    "UPDATE amtsweg_leases SET expires_at = now() + make_interval(secs => %s) "
    "WHERE name = %s AND holder = %s AND token = %s"
)
_END_EXPIRED_HOLDER = (
    "SELECT pg_terminate_backend(l.pid) FROM pg_locks l, amtsweg_leases a "
    "WHERE a.name = %s AND a.expires_at < now() AND l.locktype = 'advisory' AND l.granted "
    "AND l.objsubid = 1 AND l.classid::bigint = %s AND l.objid::bigint = %s "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND l.pid <> pg_backend_pid()"
)


def advisory_key(schema: str, name: str) -> int:
    """The advisory lock key of lease ``name`` in ``schema``: 63 bits of a SHA-256."""
    digest = hashlib.sha256(f"amtsweg-lease:{schema}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class PostgresLease:
    """The lease ``name`` of the ledger in ``schema`` of a PostgreSQL database."""

    def __init__(self, conninfo: str, schema: str, name: str, holder: str, seconds: float) -> None:
        self.name = name
        self.holder = holder
        self._conninfo = conninfo
        self._schema = schema
        self._seconds = seconds
        self._key = advisory_key(schema, name)
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._tenure: Tenure | None = None

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        timeout_ms = max(1000, int(self._seconds * 1000 / 3))  # a renewal never outlasts it
        return psycopg.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=max(2, int(self._seconds / 3)),
            options=f"-c search_path={self._schema} -c statement_timeout={timeout_ms}",
        )

    def acquire(self) -> Tenure | None:
        if self._tenure is not None:
            return self._tenure
        try:
            connection = self._connect()
        except psycopg.Error as error:
            log.warning("leader.acquire_failed", lease=self.name, error=type(error).__name__)
            return None
        try:
            tenure = self._take(connection)
        except psycopg.Error as error:
            log.warning("leader.acquire_failed", lease=self.name, error=type(error).__name__)
            tenure = None
        if tenure is None:
            connection.close()
            return None
        self._connection = connection
        self._tenure = tenure
        return tenure

    def _take(self, connection: psycopg.Connection[tuple[object, ...]]) -> Tenure | None:
        with connection.transaction():
            connection.execute(SCHEMA_LOCK)
            connection.execute(LEASE_TABLE)
        if not self._try_lock(connection):
            high, low = self._key >> 32, self._key & 0xFFFFFFFF
            ended = connection.execute(_END_EXPIRED_HOLDER, (self.name, high, low)).fetchall()
            if not ended:
                return None
            log.warning("leader.expired_holder_ended", lease=self.name, holder=self.holder)
            return None  # its lock goes once its session has ended: the next attempt
        row = connection.execute(_TAKE, (self.name, self.holder, self._seconds)).fetchone()
        assert row is not None
        return Tenure(self.name, self.holder, int(str(row[0])))

    def _try_lock(self, connection: psycopg.Connection[tuple[object, ...]]) -> bool:
        row = connection.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
        return bool(row and row[0])

    def renew(self) -> bool:
        """Extend the row over the lock's own connection: both still ours, or lost."""
        if self._connection is None or self._tenure is None:
            return False
        token = self._tenure.token
        try:
            cursor = self._connection.execute(
                _RENEW, (self._seconds, self.name, self.holder, token)
            )
        except psycopg.Error as error:
            log.warning("leader.renew_failed", lease=self.name, error=type(error).__name__)
            return False
        return cursor.rowcount == 1

    def release(self) -> None:
        """Expire the row and close the connection (which drops the advisory lock)."""
        connection, tenure = self._connection, self._tenure
        self._connection = None
        self._tenure = None
        if connection is None or tenure is None:
            return
        try:
            connection.execute(
                "UPDATE amtsweg_leases SET expires_at = now() "
                "WHERE name = %s AND holder = %s AND token = %s",
                (self.name, self.holder, tenure.token),
            )
        except psycopg.Error as error:
            log.warning("leader.release_failed", lease=self.name, error=type(error).__name__)
        finally:
            connection.close()
