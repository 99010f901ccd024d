"""Operations on the real broker: the intake's dead letters, and a relay replay."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from rich.console import Console
from typer.testing import CliRunner

from contracts import headers, topics
from deploy.broker import BrokerHandle
from deploy.topics import ensure_topics
from events.ledger import Ledger
from events.relay_store import relay_store
from events.settings import LedgerSettings
from services.ops.actions.relay_replay import MAIN_RELAY
from services.ops.cli import support as cli_support
from services.ops.cli.main import app
from tests.support.factories import new_submission
from tests.support.pipeline import running

pytestmark = pytest.mark.kafka


@pytest.fixture
def amtsweg(kafka: BrokerHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(cli_support, "console", Console(width=250))
    return CliRunner(
        env={
            "AMTSWEG_DATA_DIR": str(tmp_path),
            "AMTSWEG_LEDGER_URL": None,
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "AMTSWEG_OPERATOR": "erika",
        }
    )


def _cli(amtsweg: CliRunner, *args: str) -> Any:
    result = amtsweg.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


async def _records(
    bootstrap: str, topic: str, key: bytes, count: int, timeout: float = 60
) -> list[ConsumerRecord[bytes, bytes]]:
    """The records with ``key`` on ``topic`` from the start, once ``count`` were seen."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: list[ConsumerRecord[bytes, bytes]] = []
    try:
        async with asyncio.timeout(timeout):
            while len(found) < count:
                batch = await consumer.getmany(timeout_ms=500)
                found += [r for rs in batch.values() for r in rs if r.key == key]
        await asyncio.sleep(0.5)
        batch = await consumer.getmany(timeout_ms=500)
        return found + [r for rs in batch.values() for r in rs if r.key == key]
    finally:
        await consumer.stop()


async def _produce(bootstrap: str, key: bytes, value: bytes, message_headers: list[Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topics.INTAKE, value, key=key, headers=message_headers)
    finally:
        await producer.stop()


async def test_intake_dead_letters_list_retry_and_drop(
    kafka: BrokerHandle, amtsweg: CliRunner
) -> None:
    bootstrap = kafka.bootstrap_servers
    first, second = (f"dlq-{uuid.uuid4()}".encode() for _ in range(2))
    sent = [(headers.PORTAL_ID, b"portal-unknown"), ("x-trace", b"t-1")]
    async with running({"intake"}, bootstrap):
        await _produce(bootstrap, first, b'{"not": "a submission"}', sent)
        await _produce(bootstrap, second, b"not even json", sent)
        await _records(bootstrap, topics.INTAKE_DLQ, second, 1)
        await _records(bootstrap, topics.INTAKE_DLQ, first, 1)

    listed = await asyncio.to_thread(_cli, amtsweg, "dlq", "list", "--kind", "intake", "--json")
    by_key = {letter["key"].encode(): letter for letter in listed if letter["key"]}
    assert by_key[first]["portalId"] == by_key[second]["portalId"] == "portal-unknown"
    assert by_key[first]["source"].startswith("amtsweg.intake/")
    assert by_key[first]["problem"]
    assert by_key[first]["retryable"] is True

    retried = await asyncio.to_thread(
        _cli, amtsweg, "dlq", "retry", by_key[first]["letterId"], "--reason", "fixed", "--json"
    )
    assert retried["action"] == "retried"
    (again,) = [r for r in await _records(bootstrap, topics.INTAKE, first, 2) if r.offset][-1:]
    assert again.value == b'{"not": "a submission"}'
    resent = dict(again.headers)
    assert resent[headers.PORTAL_ID] == b"portal-unknown"
    assert resent["x-trace"] == b"t-1"
    assert resent[headers.IDEMPOTENCY_KEY].startswith(b"dlq-retry:amtsweg.intake/")
    assert headers.PROBLEM not in resent

    dropped = await asyncio.to_thread(
        _cli, amtsweg, "dlq", "drop", by_key[second]["letterId"], "--reason", "junk", "--json"
    )
    assert dropped["actor"] == "erika"
    remaining = {
        letter["letterId"]
        for letter in await asyncio.to_thread(
            _cli, amtsweg, "dlq", "list", "--kind", "intake", "--json"
        )
    }
    assert by_key[first]["letterId"] not in remaining
    assert by_key[second]["letterId"] not in remaining
    refused = await asyncio.to_thread(
        amtsweg.invoke, app, ["dlq", "retry", by_key[first]["letterId"], "--reason", "x"]
    )
    assert refused.exit_code == 1
    assert "retried by erika" in refused.output


async def test_relay_replay_publishes_again_under_its_own_name(
    kafka: BrokerHandle, amtsweg: CliRunner, tmp_path: Path
) -> None:
    bootstrap = kafka.bootstrap_servers
    await ensure_topics(bootstrap, [topics.RECEIVED, topics.VALIDATED])
    ledger = Ledger(LedgerSettings(data_dir=tmp_path))
    try:
        submission = new_submission()
        submission.validate("cat-1", "urn:x")
        ledger.save(submission)
        submission_id: UUID = submission.id
        head = int(ledger.recorder.max_notification_id() or 0)
    finally:
        ledger.close()
    key = str(submission_id).encode()

    first = await asyncio.to_thread(_cli, amtsweg, "relay", "replay", "--from", "1", "--json")
    assert first["published"] == head == first["to"]
    assert first["mainRelayPosition"] == 0  # the main relay never moved
    assert first["relay"].startswith("replay-1-")
    second = await asyncio.to_thread(
        _cli, amtsweg, "relay", "replay", "--from", str(head), "--json"
    )
    assert second["published"] == 1

    received = await _records(bootstrap, topics.RECEIVED, key, 1)
    validated = await _records(bootstrap, topics.VALIDATED, key, 2)
    assert len(received) == 1
    assert len(validated) == 2  # published twice, the same message
    assert validated[0].value == validated[1].value
    store = relay_store(LedgerSettings(data_dir=tmp_path))
    assert store.position(MAIN_RELAY) == 0
    assert store.position(first["relay"]) == head
    refused = await asyncio.to_thread(
        amtsweg.invoke, app, ["relay", "replay", "--from", "1", "--name", "relay"]
    )
    assert refused.exit_code == 2
