"""Connections for the tables kept beside the ledger (read models, operator actions).

``SQLiteTables`` and ``PostgresTables`` give a store its ``_transaction`` (a cursor inside
one transaction) and ``close``; the store adds its queries. SQLite: one connection per
store, one transaction at a time (a lock), waiting up to 30 s for the file's write lock.
PostgreSQL: a connection per transaction, in the ledger's schema.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

import psycopg


class SQLiteTables:
    """Tables in the ledger's SQLite file."""

    placeholder = "?"

    def __init__(self, path: str) -> None:
        self._connection = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self._lock = threading.Lock()

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._lock, self._connection, closing(self._connection.cursor()) as cursor:
            yield cursor

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()


class PostgresTables:
    """Tables in the ledger's PostgreSQL database and schema."""

    placeholder = "%s"

    def __init__(self, conninfo: str, schema: str) -> None:
        self._conninfo = conninfo
        self._schema = schema

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with (
            closing(
                psycopg.connect(
                    self._conninfo, autocommit=True, options=f"-c search_path={self._schema}"
                )
            ) as connection,
            connection.transaction(),
            connection.cursor() as cursor,
        ):
            yield cursor

    def close(self) -> None:
        """Nothing to close: a connection per transaction."""
