"""Integration tests run every ledger test on each persistence backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from events.settings import LedgerSettings
from tests.support.authority import authorities_have_keys, directory_with_keys
from tests.support.ledgers import ledger_settings_for


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerSettings]:
    """Ledger settings for SQLite and for PostgreSQL (a fresh schema per test)."""
    dsn = request.getfixturevalue("postgres_dsn") if request.param == "postgres" else None
    yield from ledger_settings_for(request.param, tmp_path, dsn)


@pytest.fixture(autouse=True)
def _keys(authorities_have_keys: None) -> None:
    """Deliveries are never plaintext: every authority of the bundled directory has a key."""


__all__ = ["authorities_have_keys", "directory_with_keys"]
