"""Each process's own metrics: one registry per run, FastStream's middleware, the relay."""

from __future__ import annotations

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

from events.checkpoint_writer import CheckpointWriter
from events.relay import Relay


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
    """What this process's relays have published since they started: shard 0's relay
    without a label, the other shards' with ``relay="relay-shard<k>"``."""

    def __init__(self, *relays: Relay) -> None:
        self._relays = list(relays)

    def add(self, relay: Relay) -> None:
        """Report ``relay`` too (one per ledger shard)."""
        self._relays.append(relay)

    def collect(self) -> Iterator[Metric]:
        published = CounterMetricFamily(
            "amtsweg_relay_published_events",
            "Ledger events this process's relay published (acknowledged by the broker)",
            labels=None,
        )
        position = GaugeMetricFamily(
            "amtsweg_relay_process_position",
            "The position this process's relay has reached in the ledger (its shard's)",
            labels=None,
        )
        for relay in self._relays:
            labels = {} if relay.name == "relay" else {"relay": relay.name}
            published.add_sample("amtsweg_relay_published_events_total", labels, relay.published)
            position.add_sample("amtsweg_relay_process_position", labels, relay.position)
        yield published
        yield position


class CheckpointFigures(Collector):
    """How the ``checkpoint`` service of this process is doing (for a staleness alert):
    shard 0's writer without a label, shard k's with ``shard="<k>"``."""

    def __init__(self, *writers: CheckpointWriter) -> None:
        self._writers = writers

    def collect(self) -> Iterator[Metric]:
        success = GaugeMetricFamily(
            "amtsweg_checkpoint_last_success_timestamp_seconds",
            "When the checkpoint writer last covered the ledger (a checkpoint written, "
            "or none needed), in seconds since the epoch",
            labels=None,
        )
        failures = CounterMetricFamily(
            "amtsweg_checkpoint_failures",
            "Rounds in which the checkpoint writer could not write a checkpoint",
            labels=None,
        )
        for shard, writer in enumerate(self._writers):
            labels = {} if shard == 0 else {"shard": str(shard)}
            if writer.succeeded_at is not None:
                success.add_sample(success.name, labels, writer.succeeded_at)
            failures.add_sample("amtsweg_checkpoint_failures_total", labels, writer.failures)
        if success.samples:
            yield success
        yield failures
