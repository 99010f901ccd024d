"""The receiver's memory: which deliveries it has handled, and the receipt it sent.

A small SQLite file in the output folder. A delivery id seen before is not handed over
again; its stored receipt is sent again instead (a reminder means Amtsweg has not got it).
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from receiver.private import private_directory, private_file

INBOX_FILE = ".amtsweg-receiver.sqlite3"


@dataclass(frozen=True)
class Handled:
    """A delivery handled before."""

    delivery_id: str
    submission_id: str
    outcome: str
    receipt: bytes
    """The receipt exactly as sent (JSON, or a JWS)."""
    sent: bool


class Inbox:
    """Handled deliveries, keyed by delivery id."""

    def __init__(self, folder: Path) -> None:
        private_directory(folder)
        path = private_file(folder / INBOX_FILE)  # SQLite gives its journal the same mode
        self._connection = sqlite3.connect(path, timeout=30)
        with self._connection:
            self._connection.execute(
                "CREATE TABLE IF NOT EXISTS handled (delivery_id TEXT PRIMARY KEY, "
                "submission_id TEXT NOT NULL, outcome TEXT NOT NULL, receipt BLOB NOT NULL, "
                "sent INTEGER NOT NULL, handled_at REAL NOT NULL)"
            )

    def get(self, delivery_id: str) -> Handled | None:
        """The delivery, if handled before."""
        with closing(self._connection.cursor()) as cursor:
            row = cursor.execute(
                "SELECT delivery_id, submission_id, outcome, receipt, sent FROM handled "
                "WHERE delivery_id = ?",
                (delivery_id,),
            ).fetchone()
        return Handled(row[0], row[1], row[2], bytes(row[3]), bool(row[4])) if row else None

    def find(self, identifier: str) -> Handled | None:
        """The delivery with this delivery id, else the latest one of this submission."""
        with closing(self._connection.cursor()) as cursor:
            row = cursor.execute(
                "SELECT delivery_id, submission_id, outcome, receipt, sent FROM handled "
                "WHERE delivery_id = ? OR submission_id = ? "
                "ORDER BY delivery_id = ? DESC, handled_at DESC LIMIT 1",
                (identifier, identifier, identifier),
            ).fetchone()
        return Handled(row[0], row[1], row[2], bytes(row[3]), bool(row[4])) if row else None

    def record(self, delivery_id: str, submission_id: str, outcome: str, receipt: bytes) -> None:
        """Remember a handled delivery and its receipt (before sending it)."""
        with self._connection:
            self._connection.execute(
                "INSERT OR IGNORE INTO handled VALUES (?, ?, ?, ?, 0, ?)",
                (delivery_id, submission_id, outcome, receipt, time.time()),
            )

    def mark_sent(self, delivery_id: str) -> None:
        """The receipt reached the broker."""
        with self._connection:
            self._connection.execute(
                "UPDATE handled SET sent = 1 WHERE delivery_id = ?", (delivery_id,)
            )

    def count(self) -> int:
        """How many deliveries were handled."""
        with closing(self._connection.cursor()) as cursor:
            return int(cursor.execute("SELECT count(*) FROM handled").fetchone()[0])

    def close(self) -> None:
        """Close the file."""
        self._connection.close()
