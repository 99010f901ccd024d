"""A lease of a SQLite ledger: an OS file lock beside the ledger file.

``fcntl.flock`` on ``<ledger file>.<lease>.lease`` decides who holds it, and the kernel
releases it when the holding process dies, however it dies: a standby takes over at its
next attempt. The lease has no expiry: a holder that is alive (or stopped) keeps it,
which on one machine is what the kernel can vouch for. Each acquisition increments the
lease's fencing token in ``amtsweg_leases`` inside the ledger file.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from contextlib import closing
from pathlib import Path

import structlog

from events.lease import LEASE_TABLE, Tenure

log = structlog.get_logger(__name__)

_NEXT_TERM = (
    "INSERT INTO amtsweg_leases (name, holder, token) VALUES (?, ?, 1) "
    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = amtsweg_leases.token + 1 "
    "RETURNING token"
)


def lock_file(ledger: Path, name: str) -> Path:
    """Where the lock of lease ``name`` of the SQLite ledger ``ledger`` lives."""
    if not name.replace("-", "").isalnum():
        msg = f"a lease name is letters, digits and '-', not {name!r}"
        raise ValueError(msg)
    return ledger.with_name(f"{ledger.name}.{name}.lease")


class SQLiteLease:
    """The lease ``name`` of the ledger in the SQLite file ``ledger``."""

    def __init__(self, ledger: Path, name: str, holder: str) -> None:
        self.name = name
        self.holder = holder
        self._ledger = ledger
        self._path = lock_file(ledger, name)
        self._fd: int | None = None
        self._tenure: Tenure | None = None

    def acquire(self) -> Tenure | None:
        if self._tenure is not None:
            return self._tenure
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            token = self._next_token()
        except sqlite3.Error as error:
            os.close(fd)  # and with it the lock
            log.warning("leader.acquire_failed", lease=self.name, error=type(error).__name__)
            return None
        os.ftruncate(fd, 0)
        os.write(fd, f"{self.holder} {token}\n".encode())  # for an operator's eyes
        self._fd = fd
        self._tenure = Tenure(self.name, self.holder, token)
        return self._tenure

    def _next_token(self) -> int:
        with closing(sqlite3.connect(self._ledger, timeout=30)) as connection, connection:
            connection.execute(LEASE_TABLE)
            row = connection.execute(_NEXT_TERM, (self.name, self.holder)).fetchone()
        return int(row[0])

    def renew(self) -> bool:
        """Still ours: the locked file is still the lock file, and no newer token was issued."""
        if self._fd is None or self._tenure is None:
            return False
        try:
            if os.fstat(self._fd).st_ino != self._path.stat().st_ino:
                return False
            with closing(sqlite3.connect(self._ledger, timeout=30)) as connection:
                row = connection.execute(
                    "SELECT token FROM amtsweg_leases WHERE name = ?", (self.name,)
                ).fetchone()
        except (OSError, sqlite3.Error) as error:
            log.warning("leader.renew_failed", lease=self.name, error=type(error).__name__)
            return False
        return row is not None and int(row[0]) == self._tenure.token

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor releases the flock
        self._fd = None
        self._tenure = None
