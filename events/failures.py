"""Telling a failure of the infrastructure from a failure of the message itself.

A stage worker or the relay that fails on a message must decide: retry (the database or
the broker is unavailable, and will be again) or park the message (processing the same
message again fails the same way, and would block everything behind it for ever). The
infrastructure's failures are listed here; every other error is the message's own.
A parked message is described by its :class:`Cause`: the error's type and a short
reason from a fixed vocabulary, never the error's text, which may quote the message's
content.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import psycopg
from eventsourcing.persistence import (
    ConnectionUnavailableError,
    InterfaceError,
    OperationalError,
)

from events.publisher import PermanentPublishError, PublishError

TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,  # connections refused or reset, timeouts, a full disk
    sqlite3.OperationalError,  # locked, busy
    psycopg.OperationalError,
    OperationalError,
    InterfaceError,
    ConnectionUnavailableError,
)
"""Failures of the ledger's database, the blob store or the network: retried with backoff."""

REASONS: dict[str, str] = {
    "RecursionError": "nested too deeply to process",
    "MessageSizeTooLargeError": "larger than the broker's message limit",
    "RecordTooLargeError": "larger than the broker's message limit",
    "RecordListTooLargeError": "larger than the broker's message limit",
    "SealError": "a sealed part failed its authentication",
    "KeyNotFoundError": "the submission's data key is missing",
    "BlobNotFoundError": "a sealed part is missing",
    "UnicodeError": "text that is not valid Unicode",
    "ValidationError": "a record that does not follow its contract",
}
"""Reasons for the causes Amtsweg knows; any other is "the step raised <type>"."""


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is the infrastructure's (retry) rather than the message's (park)."""
    if isinstance(error, PublishError):
        return not isinstance(error, PermanentPublishError)
    return isinstance(error, TRANSIENT)


@dataclass(frozen=True)
class Cause:
    """Why a message was parked: the error's type and a short reason without content."""

    type: str
    reason: str

    @classmethod
    def of(cls, error: BaseException) -> Cause:
        """The cause of ``error`` (for a permanent publish error, the broker client's type)."""
        name = error.cause if isinstance(error, PermanentPublishError) else type(error).__name__
        return cls(name, REASONS.get(name, f"the step raised {name}"))
