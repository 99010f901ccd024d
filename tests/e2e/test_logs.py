"""Logs of a whole run: ids on every handler line, and never the applicant's personal data.

A Sozialplattform application whose applicant has a made-up, unmistakable name and
street travels the whole pipeline on the real broker (accepted by its authority), next to
a rejected one and a dead-lettered Kafka message carrying the same data. Everything
logged meanwhile (structlog and the standard library: uvicorn, FastStream, aiokafka, at
DEBUG) and everything written to the process's stdout and stderr is searched for them.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from aiokafka import AIOKafkaProducer

from contracts import headers, topics
from deploy.broker import BrokerHandle
from services.ops.app.bootstrap import SERVICES
from services.ops.app.logs import configure_logging
from tests.support.factories import json_request, metadata_for
from tests.support.pipeline import auth, read_until, running, send_receipt, topic_reader
from tests.support.validation import json_schema_uri, sozial_sample

NAME = "Quizzelbrock"
STREET = "Zwirbelgasse"
MARKERS = (NAME, STREET, NAME.lower())
AUTHORITY = "jobcenter-koeln"
HANDLERS = (
    "services.intake.",
    "services.validation.handler",
    "services.routing.handler",
    "services.delivery.handler",
    "services.delivery.receipts",
    "services.delivery.notifier",
    "services.runtime.batch",  # the workers' batches: each step's outcome is logged there
    "services.runtime.retry",
    "services.runtime.worker",
)
NO_SUBMISSION = {
    "intake.dead_letter",  # a message that never became a submission
    "notifier.started",
    "notifier.stopped",
    "routing.directory_loaded",
    "stage.batch_failed",  # a whole batch, sought back
    "stage.batch_conflict",
    "stage.malformed_message",  # not from our relay
    "stage.unexpected_event",
    "stage.seek_skipped",
}


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything logged, as the processes log it (JSON lines), at DEBUG."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, structlog.get_config())
    noisy = {name: logging.getLogger(name).level for name in ("aiokafka", "uvicorn.access")}
    buffer = io.StringIO()
    configure_logging(json_lines=True, level="DEBUG")
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    for name in noisy:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.handlers[:], level, config = saved
        root.setLevel(level)
        structlog.configure(**config)
        for name, previous in noisy.items():
            logging.getLogger(name).setLevel(previous)


def _application(**changes: Any) -> bytes:
    document = json.loads(sozial_sample("buergergeld.json"))
    applicant = document["antragsteller"]
    applicant["familienname"] = NAME
    applicant["anschrift"]["strasse"] = STREET
    applicant["kontakt"]["email"] = f"erika.{NAME.lower()}@example.org"
    document["bankverbindung"]["kontoinhaber"] = f"Erika {NAME}"
    applicant.update(changes)
    return json.dumps(document, ensure_ascii=False).encode()


def _request(data: bytes, declared: bytes | None = None) -> dict[str, Any]:
    body = json_request(data)
    metadata = metadata_for(declared or data, schema_uri=json_schema_uri("buergergeld"))
    metadata["contentStructure"]["data"]["submissionSchema"]["mimeType"] = "application/json"
    body["metadata"] = metadata
    return body


async def _produce_refused_intake(bootstrap_servers: str, data: bytes) -> None:
    """The application over Kafka, with a hash that does not match: a dead letter."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        value = json.dumps(_request(data, declared=b"other")).encode()
        key = f"logs-{uuid.uuid4()}".encode()
        given = [(headers.PORTAL_ID, b"portal-a"), (headers.IDEMPOTENCY_KEY, key)]
        await producer.send_and_wait(topics.INTAKE, value, key=key, headers=given)
    finally:
        await producer.stop()


async def _status(client: httpx.AsyncClient, submission_id: str, wanted: str) -> str:
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        answer = await client.get(f"/v1/submissions/{submission_id}", headers=auth())
        status = str(answer.json().get("status"))
        if status == wanted or asyncio.get_running_loop().time() > deadline:
            return status
        await asyncio.sleep(0.1)


async def test_a_whole_run_logs_ids_on_every_handler_line_and_no_personal_data(
    kafka: BrokerHandle,
    data_dir: Path,
    log_lines: io.StringIO,
    capfd: pytest.CaptureFixture[str],
) -> None:
    valid = _application()
    invalid = _application(staatsangehoerigkeit=NAME, geburtsdatum=STREET)
    assert NAME.encode() in valid
    async with (
        running(set(SERVICES), kafka.bootstrap_servers) as base,
        httpx.AsyncClient(base_url=base) as client,
        topic_reader(kafka.bootstrap_servers, topics.delivery_topic(AUTHORITY)) as reader,
    ):
        posted = await client.post(
            "/v1/submissions", json=_request(valid), headers={**auth(), "Idempotency-Key": "logs-1"}
        )
        assert posted.status_code == 202, posted.text
        submission_id = posted.json()["submissionId"]
        refused = await client.post(
            "/v1/submissions",
            json=_request(invalid),
            headers={**auth(), "Idempotency-Key": "logs-2", "X-Correlation-Id": "logs-corr-2"},
        )
        assert refused.status_code == 202, refused.text
        await _produce_refused_intake(kafka.bootstrap_servers, valid)

        envelopes = await read_until(reader, 1)
        [envelope] = [e for e in envelopes if e["submissionId"] == submission_id]
        receipt = {"deliveryId": envelope["deliveryId"], "submissionId": submission_id}
        receipt |= {"authorityId": AUTHORITY, "outcome": "accepted", "reference": "AZ-1"}
        await send_receipt(kafka.bootstrap_servers, receipt)
        assert await _status(client, submission_id, "accepted") == "accepted"
        rejected_id = refused.json()["submissionId"]
        assert await _status(client, rejected_id, "rejected") == "rejected"
        await asyncio.sleep(1)  # the dead letter is written by now, and logged

    captured = capfd.readouterr()
    text = log_lines.getvalue()
    for marker in MARKERS:
        for where, output in (("logs", text), ("stdout", captured.out), ("stderr", captured.err)):
            assert marker.lower() not in output.lower(), f"{marker!r} in {where}"

    records = [json.loads(line) for line in text.splitlines()]  # every line is JSON
    assert any(
        r.get("logger", "").startswith("faststream") or "amtsweg.broker" in str(r.get("logger"))
        for r in records
    )
    work = [
        r
        for r in records
        if str(r.get("logger", "")).startswith(HANDLERS) and r["event"] not in NO_SUBMISSION
    ]
    missing = [
        r
        for r in work
        if not all(r.get(k) for k in ("submission_id", "correlation_id", "causation_id"))
    ]
    assert not missing, missing
    mine = [r for r in work if r["submission_id"] in (submission_id, rejected_id)]
    assert {r["event"] for r in mine} >= {
        "intake.received",
        "validation.decided",
        "routing.decided",
        "delivery.dispatched",
        "receipt.recorded",
    }
    assert {r["correlation_id"] for r in mine if r["submission_id"] == rejected_id} == {
        "logs-corr-2"
    }
    causes = {r["event"]: r["causation_id"] for r in mine if r["submission_id"] == submission_id}
    assert causes["intake.received"].startswith("http:")
    assert causes["receipt.recorded"].startswith(f"kafka:{topics.RECEIPTS}/")
    assert len(causes["validation.decided"]) == 64  # the Received event's hash
    assert any(r["event"] == "intake.dead_letter" for r in records)
