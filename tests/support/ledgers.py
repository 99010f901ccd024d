"""Ledger settings per persistence backend, and raw database access for tampering."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from events.settings import LedgerSettings


@dataclass
class RawDatabase:
    """Direct SQL on the ledger's database, as an attacker with database access would."""

    settings: LedgerSettings

    @property
    def table(self) -> str:
        return "stored_events" if self.settings.sqlite_path() else "amtsweg_events"

    def key(self, submission_id: uuid.UUID) -> Any:
        return submission_id.hex if self.settings.sqlite_path() else submission_id

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        path = self.settings.sqlite_path()
        if path is not None:
            with closing(sqlite3.connect(path)) as lite, lite:
                return lite.execute(sql, params).fetchall()
        assert self.settings.ledger_url is not None
        with psycopg.connect(
            self.settings.ledger_url,
            autocommit=True,
            options=f"-c search_path={self.settings.ledger_schema}",
        ) as connection:
            cursor = connection.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []


def ledger_settings_for(
    backend: str, tmp_path: Path, postgres_dsn: str | None
) -> Iterator[LedgerSettings]:
    if backend == "sqlite":
        yield LedgerSettings(data_dir=tmp_path)
        return
    assert postgres_dsn is not None
    schema = f"t{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    yield LedgerSettings(data_dir=tmp_path, ledger_url=postgres_dsn, ledger_schema=schema)
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA {schema} CASCADE")
