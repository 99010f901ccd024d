"""``/metrics`` of a process without HTTP intake, and what the gauges show for a snapshot."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import cast

import httpx
import pytest
from aiokafka.errors import KafkaConnectionError
from prometheus_client import CollectorRegistry, generate_latest

from events.ledger import Ledger
from events.relay_store import relay_store
from events.settings import LedgerSettings
from services.delivery.projector import DeliveryProjector
from services.delivery.store import OpenDeliveries, delivery_store
from services.ops.readmodels.metrics import server
from services.ops.readmodels.metrics.collector import DeploymentMetrics
from services.ops.readmodels.metrics.figures import (
    DAY,
    HOUR,
    Snapshot,
    SnapshotCollector,
    age_cutoffs,
)
from services.ops.readmodels.metrics.health import Health
from services.ops.readmodels.metrics.kafka import KafkaOffsets
from services.ops.readmodels.metrics.projector import StageProjector
from services.ops.readmodels.metrics.registry import process_registry
from services.ops.readmodels.metrics.settings import MetricsSettings
from services.ops.readmodels.metrics.store import metrics_store
from tests.support.factories import new_submission
from tests.support.metrics import parse, value


def test_the_default_port_taken_another_is_used_but_a_set_port_is_kept_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setattr(server, "DEFAULT_PORT", port)
        fallback = server.bind(MetricsSettings(port=None))
        try:
            assert fallback.getsockname()[1] not in (port, 0)
        finally:
            fallback.close()
        with pytest.raises(OSError):
            server.bind(MetricsSettings(port=port))


async def test_the_metrics_server_answers_metrics_and_health() -> None:
    registry = process_registry()
    url, task, running = await server.start_metrics_server(registry, MetricsSettings(port=0))
    try:
        async with httpx.AsyncClient() as client:
            answer = await client.get(url)
            health = await client.get(url.replace("/metrics", "/healthz"))
    finally:
        running.should_exit = True
        await task
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert value(parse(answer.text), "process_cpu_seconds_total") is not None
    assert health.status_code == 200


async def test_probes_alive_while_waiting_ready_once_started_neither_after_a_part_ended() -> None:
    health = Health()
    url, task, running = await server.start_metrics_server(
        process_registry(), MetricsSettings(port=0), health
    )
    base = url.removesuffix("/metrics")
    release = asyncio.Event()

    async def running_part() -> None:
        await release.wait()

    part = asyncio.create_task(running_part())

    async def probes(client: httpx.AsyncClient) -> tuple[int, int, int]:
        answers = [await client.get(f"{base}{path}") for path in ("/livez", "/readyz", "/healthz")]
        return answers[0].status_code, answers[1].status_code, answers[2].status_code

    try:
        async with httpx.AsyncClient() as client:
            waiting = await probes(client)  # e.g. for the broker
            health.started([part])
            started = await probes(client)
            release.set()
            await part
            ended = await probes(client)
    finally:
        running.should_exit = True
        await task
    assert waiting == (200, 503, 503)
    assert started == (200, 200, 200)
    assert ended == (503, 503, 503)


def test_a_snapshot_shows_deliveries_by_age_and_the_relay_lag() -> None:
    now = 10_000_000.0
    ages = [10.0, 2 * HOUR, 2 * DAY, 4 * DAY, 4 * DAY, 20 * DAY]  # seconds since dispatch
    cutoffs = age_cutoffs(now)
    dispatched = [now - age for age in ages]
    open_ = OpenDeliveries(
        tuple(sum(1 for at in dispatched if at <= cutoff) for cutoff in cutoffs),
        total=len(ages),
        oldest_dispatched_at=min(dispatched),
        dead_letters=1,
    )
    collector = SnapshotCollector()
    collector.snapshot = Snapshot(
        collected_at=now,
        statuses={"dispatched": 6, "accepted": 2},
        ledger_position=40,
        relay_positions={"relay": 37},
        deliveries=open_,
        consumer_lag={("amtsweg-validation", "amtsweg.submissions.received"): 3},
        intake_dead_letters=(5, 2),
    )
    registry = CollectorRegistry()
    registry.register(collector)
    samples = parse(generate_latest(registry).decode())
    by_age = {
        age: value(samples, "amtsweg_deliveries_awaiting_receipt", age=age)
        for age in ("0-1h", "1h-1d", "1d-3d", "3d-9d", "9d-14d", "14d+")
    }
    assert by_age == {"0-1h": 1, "1h-1d": 1, "1d-3d": 1, "3d-9d": 2, "9d-14d": 0, "14d+": 1}
    assert value(samples, "amtsweg_deliveries_awaiting_receipt_oldest_seconds") == 20 * DAY
    assert value(samples, "amtsweg_delivery_dead_letters") == 1
    assert value(samples, "amtsweg_relay_lag_events", relay="relay") == 3
    assert value(samples, "amtsweg_submissions", status="accepted") == 2
    assert value(samples, "amtsweg_submissions", status="rejected") == 0  # every status shown
    assert value(samples, "amtsweg_intake_dead_letters_total") == 5
    assert value(samples, "amtsweg_intake_dead_letters_retained") == 2
    lag = value(
        samples,
        "amtsweg_kafka_consumer_lag",
        group="amtsweg-validation",
        topic="amtsweg.submissions.received",
    )
    assert lag == 3


def test_no_snapshot_yet_shows_nothing() -> None:
    registry = CollectorRegistry()
    registry.register(SnapshotCollector())
    assert generate_latest(registry) == b""


class _BrokerDown:
    async def consumer_lag(self) -> dict[tuple[str, str], int]:
        raise KafkaConnectionError

    async def topic_offsets(self, topic: str) -> tuple[int, int]:
        raise AssertionError  # pragma: no cover - not reached


async def test_a_source_that_cannot_be_read_leaves_its_gauges_out(tmp_path: Path) -> None:
    ledger = Ledger(LedgerSettings(data_dir=tmp_path))
    try:
        ledger.save(new_submission())
        registry = CollectorRegistry()
        collector = DeploymentMetrics(
            ledger,
            StageProjector(ledger, metrics_store(ledger.settings), lambda _: None),
            DeliveryProjector(ledger, delivery_store(ledger.settings), lambda _: False),
            relay_store(ledger.settings),
            offsets=cast(KafkaOffsets, _BrokerDown()),
            registry=registry,
        )
        snapshot = await collector.collect()
    finally:
        ledger.close()
    assert snapshot.consumer_lag is None
    assert snapshot.intake_dead_letters is None
    samples = parse(generate_latest(registry).decode())
    assert value(samples, "amtsweg_metrics_collect_errors_total", source="kafka") == 1
    assert value(samples, "amtsweg_metrics_collect_errors_total", source="ledger") == 0
    assert value(samples, "amtsweg_submissions", status="received") == 1
    assert value(samples, "amtsweg_relay_lag_events", relay="relay") == 1  # nothing published
    assert "amtsweg_kafka_consumer_lag" not in {name for name, _ in samples}
