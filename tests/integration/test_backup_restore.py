"""Backup and restore of the ledger, with exactly the commands README gives.

SQLite: the ``sqlite3`` shell's ``.backup`` (SQLite's online backup API, safe while the
services write). PostgreSQL: ``pg_dump --format=custom`` of the ledger's schema and
``pg_restore`` into a fresh database. Either way the restored ledger is checked with
``amtsweg verify --all``: every submission is there, every chain and the relay's witness
hold, and a backup someone edited fails.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from typer.testing import CliRunner

from events.ledger import Ledger
from events.relay_store import Witness, relay_store
from events.settings import LedgerSettings
from harness import postgres
from services.ops.cli.main import app
from tests.support.factories import new_submission
from tests.support.ledgers import RawDatabase

SUBMISSIONS = 6


def _tool(name: str) -> str:
    """The backup tool ``name``: PostgreSQL's from its bin folder, else from the PATH."""
    if name.startswith("pg_"):
        return str(postgres.find_bindir() / name)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: the documented backup cannot be made")
    return found


def _run(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, (command[0], result.stderr)


def _dispatched(ledger: Ledger) -> uuid.UUID:
    submission = new_submission()
    ledger.save(submission)
    ledger.execute(submission.id, lambda s: s.validate("cat-1", "urn:x"))
    ledger.execute(submission.id, lambda s: s.route("jc", "053150000000", "05315", "dir-1"))
    ledger.execute(submission.id, lambda s: s.dispatch("d-1", "jc", "amtsweg.delivery.jc", {}))
    return submission.id


@pytest.fixture
def submissions(ledger: Ledger, ledger_settings: LedgerSettings) -> list[uuid.UUID]:
    """Dispatched submissions, each published by the relay (its witness recorded)."""
    ids = [_dispatched(ledger) for _ in range(SUBMISSIONS)]
    witnesses = [Witness(str(i), (t := ledger.trail(i)[-1]).version, t.hash) for i in ids]
    relay_store(ledger_settings).advance("relay", 0, witnesses)
    return ids


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture
def restored(ledger_settings: LedgerSettings, tmp_path: Path) -> Iterator[LedgerSettings]:
    """The ledger backed up and restored, as README says, into a fresh data dir or database."""
    backup, fresh = tmp_path / "backup", tmp_path / "restored"
    backup.mkdir()
    fresh.mkdir()
    source = ledger_settings.sqlite_path()
    if source is not None:
        copy = backup / "ledger.sqlite3"
        _run(_tool("sqlite3"), str(source), f".backup '{copy}'")
        _run(_tool("sqlite3"), str(copy), "PRAGMA integrity_check")
        shutil.copyfile(copy, fresh / "ledger.sqlite3")
        yield LedgerSettings(data_dir=fresh)
        return
    url, schema = ledger_settings.ledger_url, ledger_settings.ledger_schema
    assert url is not None
    dump = backup / "ledger.dump"
    _run(
        _tool("pg_dump"),
        "--format=custom",
        f"--schema={schema}",
        f"--exclude-table={schema}.amtsweg_data_keys",
        f"--exclude-table={schema}.amtsweg_key_check",
        f"--file={dump}",
        url,
    )
    database = f"restored_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {database}")
    target = _with_database(url, database)
    try:
        _run(_tool("pg_restore"), "--exit-on-error", "--no-owner", f"--dbname={target}", str(dump))
        yield LedgerSettings(data_dir=fresh, ledger_url=target, ledger_schema=schema)
    finally:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE {database} WITH (FORCE)")


def _verify(settings: LedgerSettings, tmp_path: Path) -> tuple[int, dict[str, Any]]:
    """``amtsweg verify --all --json`` on ``settings``: its exit code and report."""
    runner = CliRunner(
        env={
            "AMTSWEG_DATA_DIR": str(settings.data_dir),
            "AMTSWEG_LEDGER_URL": settings.ledger_url,
            "AMTSWEG_LEDGER_SCHEMA": settings.ledger_schema,
            "AMTSWEG_LEDGER_CHAIN_KEY": None,
            "AMTSWEG_DEVELOPMENT": None,
            "AMTSWEG_KEYSTORE_URL": f"sqlite:///{tmp_path / 'verify-keys.sqlite3'}",
        }
    )
    result = runner.invoke(app, ["verify", "--all", "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_a_restored_ledger_verifies_with_every_submission(
    submissions: list[uuid.UUID], restored: LedgerSettings, tmp_path: Path
) -> None:
    exit_code, report = _verify(restored, tmp_path)
    assert (exit_code, report) == (0, {"checked": SUBMISSIONS, "broken": []})
    ledger = Ledger(restored)
    try:
        assert sorted(ledger.submission_ids()) == sorted(submissions)
        assert all(len(ledger.trail(i)) == 4 for i in submissions)
    finally:
        ledger.close()


@pytest.mark.parametrize("tampering", ["event-deleted", "event-edited"])
def test_a_tampered_backup_fails_verification(
    submissions: list[uuid.UUID], restored: LedgerSettings, tmp_path: Path, tampering: str
) -> None:
    raw = RawDatabase(restored)
    victim = raw.key(submissions[2])
    where = "WHERE originator_id = ? AND originator_version = 2"
    if tampering == "event-deleted":
        raw.execute(f"DELETE FROM {raw.table} {where}", (victim,))
    else:
        ((state,),) = raw.execute(f"SELECT state FROM {raw.table} {where}", (victim,))
        document = json.loads(bytes(state))
        document["catalog_version"] = "cat-2"
        raw.execute(
            f"UPDATE {raw.table} SET state = ? {where}", (json.dumps(document).encode(), victim)
        )
    exit_code, report = _verify(restored, tmp_path)
    assert exit_code == 1
    assert report["checked"] == SUBMISSIONS
    assert [item["submissionId"] for item in report["broken"]] == [str(submissions[2])]
