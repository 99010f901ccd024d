"""Leases: which process runs a singleton of a ledger (its relay, notifier, retention, …).

A singleton must run exactly once per ledger, yet a standby must take over when the active
one dies. A :class:`Lease` is that election, kept in the ledger's own database: ``acquire``
makes this process the holder (or answers None while another one holds it), ``renew``
confirms it still is, ``release`` hands it back. Each acquisition gets a *fencing token*,
one higher than the one before, recorded in ``amtsweg_leases`` beside the ledger.

Fencing: a write that must come from the current holder only (the relay's position,
:meth:`events.relay_store.RelayStore.advance`) carries the writer's token and is refused
with :class:`StaleLeaderError` when the table holds a newer one. So an old holder that was
paused (or cut off) and wakes up after a takeover cannot move the position or the chain
witness. What fencing cannot undo: messages that old holder handed to Kafka before its
write was refused. They are the same messages (same key, same event version, same
content) the new holder publishes from the position it took over, so the effect is
at-least-once delivery, which the consumers' state machines absorb.

Backends: :mod:`events.lease_postgres` (a lease row with expiry by the database's clock
and a session advisory lock), :mod:`events.lease_sqlite` (an OS file lock beside the
ledger file); :func:`events.leases.lease_for` picks the one of the configured ledger.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from typing import Protocol

LEASE_TABLE = (
    "CREATE TABLE IF NOT EXISTS amtsweg_leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, "
    "token BIGINT NOT NULL, expires_at TIMESTAMP WITH TIME ZONE)"
)
"""One row per lease: its holder, its newest fencing token and (PostgreSQL) when it expires."""
NEWEST_TERM = "SELECT token FROM amtsweg_leases WHERE name = {p}"


@dataclass(frozen=True)
class Tenure:
    """One holder's term of a lease: from acquisition until it is lost or released."""

    lease: str
    holder: str
    token: int
    """The fencing token of this term: writes carry it, newer terms have higher ones."""


class StaleLeaderError(Exception):
    """A write came from a holder whose term is over: a newer token holds the lease."""


class Lease(Protocol):
    """The election of one singleton of one ledger (blocking calls)."""

    name: str
    holder: str

    def acquire(self) -> Tenure | None:
        """Become the holder (a new term, its token one higher); None if another holds it."""
        ...

    def renew(self) -> bool:
        """Extend the current term; False if it is lost (taken over, expired, unreachable)."""
        ...

    def release(self) -> None:
        """End the current term so a standby can take over at once (idempotent)."""
        ...


def holder_id() -> str:
    """This process as a lease holder: host, process id and a random part (pids recur)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def stale(stored: object, token: int) -> bool:
    """Whether the token ``stored`` for a lease is newer than the writer's ``token``."""
    return stored is not None and int(str(stored)) > token
