"""The overview read model learns each submission's case, also from a table made before
cases were recorded (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg

from events.ledger import Ledger
from services.ops.readmodels.overview.projector import OverviewProjector
from services.ops.readmodels.overview.rows import Filters
from services.ops.readmodels.overview.store import overview_store
from tests.support.factories import new_submission

_BEFORE_CASES = (
    (
        "CREATE TABLE amtsweg_ops_submissions (submission_id TEXT PRIMARY KEY, "
        "portal_id TEXT NOT NULL, leika_key TEXT NOT NULL, status TEXT NOT NULL, "
        "authority_id TEXT, delivery_id TEXT, received_at DOUBLE PRECISION NOT NULL, "
        "updated_at DOUBLE PRECISION NOT NULL, version INTEGER NOT NULL, "
        "last_event TEXT NOT NULL, problem TEXT, escalated BOOLEAN NOT NULL, "
        "dead_letter BOOLEAN NOT NULL, content_erased BOOLEAN NOT NULL DEFAULT FALSE)"
    ),
    (
        "CREATE TABLE amtsweg_projection_position (projection TEXT PRIMARY KEY, "
        "position BIGINT NOT NULL)"
    ),
    "INSERT INTO amtsweg_projection_position (projection, position) VALUES ('ops-submissions', 7)",
)


def _execute_before_cases(ledger: Ledger) -> None:
    settings = ledger.settings
    path = settings.sqlite_path()
    if path is not None:
        with sqlite3.connect(path) as connection:
            for statement in _BEFORE_CASES:
                connection.execute(statement)
        return
    assert settings.ledger_url is not None
    options: dict[str, Any] = {"options": f"-c search_path={settings.ledger_schema}"}
    with psycopg.connect(settings.ledger_url, autocommit=True, **options) as connection:
        for statement in _BEFORE_CASES:
            connection.execute(statement)


def test_an_overview_from_before_cases_is_read_again_with_them(ledger: Ledger) -> None:
    first = new_submission(chain=ledger.chain_keys)
    follow_up = new_submission(chain=ledger.chain_keys, case_id=first.case_id)
    other = new_submission(chain=ledger.chain_keys)
    ledger.save(first, follow_up, other)
    _execute_before_cases(ledger)

    store = overview_store(ledger.settings)
    try:
        assert store.position() == 0  # the column was added: read the ledger again
        OverviewProjector(ledger, store).catch_up()
        rows = store.select(Filters(case_id=first.case_id))
        assert {r.submission_id for r in rows} == {str(first.id), str(follow_up.id)}
        assert all(r.case_id == first.case_id for r in rows)
        assert store.count(Filters(case_id=other.case_id)) == 1
        moved = store.position()
        assert moved > 0
    finally:
        store.close()
    again = overview_store(ledger.settings)  # the column is there now: nothing is reset
    try:
        assert again.position() == moved
    finally:
        again.close()
