"""End to end with two ledger shards on the real broker: submissions land in both shards,
each shard's relay publishes its own, all are delivered, ``verify --all`` checks every
one, and the ops API lists and shows them all."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import httpx
import psycopg
import pytest
from typer.testing import CliRunner

from contracts import topics
from deploy.broker import BrokerHandle
from events.relay_store import relay_store
from events.settings import LedgerSettings
from events.sharded_ledger import open_ledger
from events.shards import shard_of
from services.delivery.auth import token_hash
from services.ops.app.bootstrap import SERVICES
from services.ops.cli.main import app as cli
from tests.support.factories import json_request, xdomea_sample
from tests.support.ledgers import ledger_settings_for
from tests.support.pipeline import auth, read_until, running, topic_reader

KOELN = "053150000000"
AUTHORITY = "jobcenter-koeln"
OPERATOR_TOKEN = "token-of-the-shard-operator"
SUBMISSIONS = 10


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def data_dir(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Two shards as SQLite files in the data dir, or as PostgreSQL schemas."""
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AMTSWEG_LEDGER_SHARDS", "2")
    monkeypatch.setenv("AMTSWEG_OPERATOR_TOKENS", json.dumps({"erika": token_hash(OPERATOR_TOKEN)}))
    if request.param == "sqlite":
        yield tmp_path
        return
    dsn = request.getfixturevalue("postgres_dsn")
    schemas = ledger_settings_for("postgres", tmp_path, dsn)  # a fresh schema, dropped after
    schema = next(schemas).ledger_schema
    monkeypatch.setenv("AMTSWEG_LEDGER_URL", dsn)
    monkeypatch.setenv("AMTSWEG_LEDGER_SCHEMA", schema)
    yield tmp_path
    next(schemas, None)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema}_shard1 CASCADE")


async def _submit(client: httpx.AsyncClient, number: int) -> str:
    body = json_request(xdomea_sample(), routing={"ars": KOELN})
    answer = await client.post(
        "/v1/submissions", json=body, headers={**auth(), "Idempotency-Key": f"shards-{number}"}
    )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["submissionId"])


async def test_two_shards_carry_every_submission_to_its_authority(
    kafka: BrokerHandle, data_dir: Path
) -> None:
    operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    async with (
        running(set(SERVICES), kafka.bootstrap_servers) as base,
        httpx.AsyncClient(base_url=base) as client,
        topic_reader(kafka.bootstrap_servers, topics.delivery_topic(AUTHORITY)) as reader,
    ):
        ids = [await _submit(client, number) for number in range(SUBMISSIONS)]
        shards = {shard_of(UUID(i), 2) for i in ids}
        assert shards == {0, 1}, "ten random ids all in one shard: run again"

        envelopes = await read_until(reader, SUBMISSIONS)
        delivered = {e["submissionId"] for e in envelopes}
        assert set(ids) <= delivered

        listed = await client.get(
            "/ops/submissions", params={"limit": 100, "purpose": "e2e"}, headers=operator
        )
        assert listed.status_code == 200, listed.text
        assert {row["submissionId"] for row in listed.json()["submissions"]} >= set(ids)
        for submission_id in ids:
            shown = await client.get(f"/ops/submissions/{submission_id}", headers=operator)
            assert shown.status_code == 200, shown.text
            checked = await client.get(f"/ops/submissions/{submission_id}/verify", headers=operator)
            assert checked.status_code == 200, checked.text

    settings = LedgerSettings()
    assert settings.ledger_shards == 2
    ledger = open_ledger(settings)
    try:
        for index, shard in enumerate(ledger.shards):
            mine = [i for i in ids if shard_of(UUID(i), 2) == index]
            assert all(shard.exists(UUID(i)) for i in mine)
            store = relay_store(shard.settings)
            name = "relay" if index == 0 else f"relay-shard{index}"
            assert store.position(name) == shard.recorder.max_notification_id()
            assert all(store.witness(i) is not None for i in mine)
        if settings.sqlite_path() is not None:
            assert (data_dir / "ledger.shard1.sqlite3").is_file()
        else:
            assert ledger.shards[1].settings.ledger_schema == f"{settings.ledger_schema}_shard1"
    finally:
        ledger.close()

    runner = CliRunner(env={"COLUMNS": "100"})
    result = await asyncio.to_thread(runner.invoke, cli, ["verify", "--all", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["checked"] == SUBMISSIONS
    assert report["broken"] == []
