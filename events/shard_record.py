"""The number of shards a ledger was written with, recorded in shard 0.

One row in ``amtsweg_ledger_shards``, written once by the first process that opens an
empty ledger with more than one shard. A one-shard ledger writes nothing (its database
stays exactly as before sharding existed), so a ledger without the row ran with one shard
if it holds events.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

import psycopg
from psycopg import sql

from events.settings import LedgerSettings
from events.tables import SCHEMA_LOCK

_CREATE = (
    "CREATE TABLE IF NOT EXISTS amtsweg_ledger_shards "
    "(id INTEGER PRIMARY KEY, shards INTEGER NOT NULL)"
)
_INSERT = "INSERT INTO amtsweg_ledger_shards (id, shards) VALUES (1, {p}) ON CONFLICT DO NOTHING"
_SELECT = "SELECT shards FROM amtsweg_ledger_shards WHERE id = 1"


def recorded_shards(settings: LedgerSettings) -> int | None:
    """The number of shards shard 0 recorded; None when it recorded none."""
    path = settings.sqlite_path()
    if path is not None:
        with closing(sqlite3.connect(path, timeout=30)) as lite:
            exists = lite.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                ("amtsweg_ledger_shards",),
            ).fetchone()
            row = lite.execute(_SELECT).fetchone() if exists else None
        return int(row[0]) if row else None
    with closing(_connect(settings)) as connection:
        found = connection.execute("SELECT to_regclass('amtsweg_ledger_shards')").fetchone()
        row = connection.execute(_SELECT).fetchone() if found and found[0] else None
    return int(str(row[0])) if row else None


def record_shards(settings: LedgerSettings, shards: int) -> int:
    """Record ``shards`` unless a number is recorded already; return the one recorded."""
    path = settings.sqlite_path()
    if path is not None:
        with closing(sqlite3.connect(path, timeout=30)) as lite, lite:
            lite.execute(_CREATE)
            lite.execute(_INSERT.format(p="?"), (shards,))
            row = lite.execute(_SELECT).fetchone()
        return int(row[0])
    with closing(_connect(settings)) as connection, connection.transaction():
        connection.execute(SCHEMA_LOCK)
        connection.execute(_CREATE)
        connection.execute(_INSERT.format(p="%s"), (shards,))
        found = connection.execute(_SELECT).fetchone()
    assert found is not None
    return int(str(found[0]))


def create_schema(settings: LedgerSettings) -> None:
    """Create a PostgreSQL shard's schema if it is missing (nothing to do for SQLite)."""
    if settings.sqlite_path() is not None:
        return
    assert settings.ledger_url is not None
    with closing(psycopg.connect(settings.ledger_url)) as connection, connection.transaction():
        connection.execute(SCHEMA_LOCK)
        connection.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(settings.ledger_schema))
        )


def _connect(settings: LedgerSettings) -> psycopg.Connection[tuple[object, ...]]:
    assert settings.ledger_url is not None
    return psycopg.connect(
        settings.ledger_url, autocommit=True, options=f"-c search_path={settings.ledger_schema}"
    )
