"""Metrics on the real broker: the pipeline runs, /metrics moves as the submissions do."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from contracts import headers, topics
from deploy.broker import BrokerHandle
from services.ops.app.bootstrap import SERVICES
from tests.support.factories import json_request, xdomea_sample
from tests.support.metrics import Samples, names, scrape, until, value
from tests.support.pipeline import auth, free_port, read_until, running, send_receipt, topic_reader

KOELN = "053150000000"
AUTHORITY = "jobcenter-koeln"
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AMTSWEG_METRICS_INTERVAL_SECONDS", "0.3")
    return tmp_path


async def _dead_letter(bootstrap_servers: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            topics.INTAKE, b"not json", headers=[(headers.PORTAL_ID, b"portal-a")]
        )
    finally:
        await producer.stop()


async def _post(client: httpx.AsyncClient, body: dict[str, object], key: str) -> str:
    answer = await client.post(
        "/v1/submissions", json=body, headers={**auth(), "Idempotency-Key": key}
    )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["submissionId"])


def _status(samples: Samples, status: str) -> float | None:
    return value(samples, "amtsweg_submissions", status=status)


def _latencies(samples: Samples, stage: str, outcome: str) -> float | None:
    return value(samples, "amtsweg_stage_latency_seconds_count", stage=stage, outcome=outcome)


async def test_metrics_follow_submissions_through_the_pipeline(
    kafka: BrokerHandle, data_dir: Path
) -> None:
    valid = xdomea_sample()
    broken = valid.replace(b"<xdomea:Kopf>", b"<xdomea:Kopf><xdomea:Unerwartet/>", 1)
    async with (
        running(set(SERVICES), kafka.bootstrap_servers) as base,
        httpx.AsyncClient(base_url=base) as client,
        topic_reader(kafka.bootstrap_servers, topics.delivery_topic(AUTHORITY)) as reader,
    ):
        first = await until(
            lambda: scrape(client), lambda s: _status(s, "received") is not None, timeout=30
        )
        dead_before = value(first, "amtsweg_intake_dead_letters_total")
        assert dead_before is not None
        good = await _post(client, json_request(valid, routing={"ars": KOELN}), "metrics-good")
        await _post(client, json_request(broken, routing={"ars": KOELN}), "metrics-broken")
        await _post(client, json_request(valid), "metrics-nowhere")  # no region anywhere
        await _dead_letter(kafka.bootstrap_servers)

        dispatched = await until(
            lambda: scrape(client),
            lambda s: _status(s, "dispatched") == 1 and _status(s, "rejected") == 1,
        )
        assert _status(dispatched, "dispatched") == 1
        assert value(dispatched, "amtsweg_deliveries_awaiting_receipt", age="0-1h") == 1
        assert value(dispatched, "amtsweg_deliveries_awaiting_receipt", age="14d+") == 0

        [envelope] = [e for e in await read_until(reader, 1) if e["submissionId"] == good]
        receipt = {"deliveryId": envelope["deliveryId"], "submissionId": good}
        receipt |= {"authorityId": AUTHORITY, "outcome": "accepted"}
        await send_receipt(kafka.bootstrap_servers, receipt)

        def settled(s: Samples) -> bool:
            return (
                _status(s, "accepted") == 1
                and value(s, "amtsweg_relay_lag_events", relay="relay") == 0
                and (value(s, "amtsweg_intake_dead_letters_total") or 0) > (dead_before or 0)
                and value(
                    s,
                    "amtsweg_kafka_consumer_lag",
                    group="amtsweg-validation",
                    topic=topics.RECEIVED,
                )
                == 0
            )

        samples = await until(lambda: scrape(client), settled)

    assert {s: _status(samples, s) for s in ("received", "validated", "routed", "dispatched")} == {
        "received": 0,
        "validated": 0,
        "routed": 0,
        "dispatched": 0,
    }
    assert _status(samples, "accepted") == 1
    assert _status(samples, "rejected") == 1
    assert _status(samples, "unroutable") == 1
    assert _latencies(samples, "validation", "validated") == 2
    assert _latencies(samples, "validation", "rejected") == 1
    assert _latencies(samples, "routing", "routed") == 1
    assert _latencies(samples, "routing", "unroutable") == 1
    assert _latencies(samples, "delivery", "dispatched") == 1
    assert _latencies(samples, "receipt", "accepted") == 1
    assert value(samples, "amtsweg_rejections_total", type="schema-violation") == 1
    assert sum(v for (n, _), v in samples.items() if n == "amtsweg_unroutable_total") == 1
    assert value(samples, "amtsweg_deliveries_awaiting_receipt", age="0-1h") == 0
    assert value(samples, "amtsweg_delivery_dead_letters") == 0
    assert value(samples, "amtsweg_relay_lag_events", relay="relay") == 0
    published = value(samples, "amtsweg_relay_published_events_total")
    assert published is not None
    assert published == 10  # 5 + 2 + 3 events
    assert (value(samples, "amtsweg_intake_dead_letters_total") or 0) >= (dead_before or 0) + 1
    handled = value(
        samples,
        "faststream_received_processed_messages_total",
        app_name="amtsweg",
        broker="kafka",
        handler=topics.RECEIVED,
        status="acked",
    )
    assert handled is not None
    assert handled >= 3
    assert value(samples, "amtsweg_metrics_collect_errors_total", source="kafka") == 0
    assert value(samples, "amtsweg_metrics_collect_errors_total", source="ledger") == 0
    assert "process_cpu_seconds_total" in names(samples)
    _assert_deploy_files_name_only_metrics_that_exist(names(samples))


def _assert_deploy_files_name_only_metrics_that_exist(exposed: set[str]) -> None:
    """The alert rules and the dashboard query metrics that /metrics really has."""
    for path in (DEPLOY / "prometheus" / "alerts.yml", DEPLOY / "grafana" / "amtsweg.json"):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            json.loads(text)
        used = set(re.findall(r"\b(?:amtsweg|faststream|process)_[a-z_]+[a-z]\b", text))
        assert used, path
        missing = sorted(used - exposed)
        assert not missing, f"{path.name} names metrics /metrics does not have: {missing}"


@pytest.mark.parametrize("service", ["validation", "metrics"])
async def test_a_process_without_http_serves_metrics_on_its_own_port(
    kafka: BrokerHandle, data_dir: Path, monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    port = free_port()
    monkeypatch.setenv("AMTSWEG_METRICS_PORT", str(port))
    async with (
        running({service}, kafka.bootstrap_servers),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        samples = await until(
            lambda: scrape(client),
            lambda s: service != "metrics" or "amtsweg_submissions" in names(s),
            timeout=30,
        )
        assert (await client.get("/healthz")).status_code == 200
    assert "process_cpu_seconds_total" in names(samples)
    deployment = {"amtsweg_submissions", "amtsweg_kafka_consumer_lag"} & names(samples)
    assert bool(deployment) == (service == "metrics")  # only the metrics service has them
    with pytest.raises(httpx.ConnectError):  # stopped with the process
        await httpx.AsyncClient().get(f"http://127.0.0.1:{port}/metrics")
