"""Each process's own metrics (one registry per run, FastStream's middleware, the relay),
and the wiring of the ``metrics`` service."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from events.ledger import Ledger
from events.relay import Relay
from events.relay_store import relay_store
from services.delivery.projector import DeliveryProjector
from services.ops.app.deliveries import DeliveryContext, projector_for
from services.ops.readmodels.metrics.collector import DeploymentMetrics
from services.ops.readmodels.metrics.figures import SubmissionFigures
from services.ops.readmodels.metrics.kafka import KafkaOffsets
from services.ops.readmodels.metrics.projector import StageProjector
from services.ops.readmodels.metrics.settings import MetricsSettings
from services.ops.readmodels.metrics.store import metrics_store


def process_registry() -> CollectorRegistry:
    """A fresh registry with the process, platform and garbage collector figures.

    One per run rather than prometheus_client's global one, so that several runs in one
    interpreter (the tests) do not collide.
    """
    registry = CollectorRegistry()
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry


def broker_middleware(registry: CollectorRegistry) -> KafkaPrometheusMiddleware:
    """FastStream's consume/publish counters and durations (``faststream_*``) per topic."""
    return KafkaPrometheusMiddleware(registry=registry, app_name="amtsweg")


class RelayFigures(Collector):
    """What this process's relay has published since it started."""

    def __init__(self, relay: Relay) -> None:
        self._relay = relay

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "amtsweg_relay_published_events",
            "Ledger events this process's relay published (acknowledged by the broker)",
            value=self._relay.published,
        )
        yield GaugeMetricFamily(
            "amtsweg_relay_process_position",
            "The position this process's relay has reached in the ledger",
            value=self._relay.position,
        )


async def start_deployment_metrics(
    stack: contextlib.AsyncExitStack,
    ledger: Ledger,
    *,
    context: DeliveryContext,
    bootstrap_servers: str,
    registry: CollectorRegistry,
    stop: asyncio.Event,
) -> asyncio.Task[None]:
    """Run the ``metrics`` service's collector until ``stop``."""
    settings = MetricsSettings()
    figures = SubmissionFigures(registry)
    store = await asyncio.to_thread(metrics_store, ledger.settings)
    deliveries: DeliveryProjector = await asyncio.to_thread(projector_for, ledger, context)
    relays = await asyncio.to_thread(relay_store, ledger.settings)
    offsets = KafkaOffsets(bootstrap_servers)
    await offsets.start()
    stack.push_async_callback(offsets.close)
    stages = StageProjector(ledger, store, figures.observe)
    collector = DeploymentMetrics(
        ledger, stages, deliveries, relays, offsets=offsets, registry=registry
    )
    return asyncio.create_task(collector.run(stop, settings.interval_seconds), name="metrics")
