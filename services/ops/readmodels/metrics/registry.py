"""Each process's own metrics: one registry per run, FastStream's middleware, the relay,
the checkpoint writer and the singletons' leases."""

from __future__ import annotations

from collections.abc import Callable, Iterator

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
from events.lease import Tenure
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


class LeaderFigures(Collector):
    """Which singletons this process leads: ``amtsweg_leader{lease}`` 1 leading, 0 standing by.

    Summed over the processes started for a lease it is 1 while the singleton runs; 0 for
    longer than a lease is an outage, 2 a split that fencing must absorb.
    """

    def __init__(self) -> None:
        self._terms: dict[str, Tenure | None] = {}

    def observer(self, lease: str) -> Callable[[Tenure | None], None]:
        """What ``run_as_leader`` tells of lease ``lease``'s terms (standing by until then)."""
        self._terms[lease] = None

        def observe(tenure: Tenure | None) -> None:
            self._terms[lease] = tenure

        return observe

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "amtsweg_leader",
            "1 while this process holds the lease and runs its singleton, 0 while it stands by",
            labels=["lease"],
        )
        for lease, tenure in sorted(self._terms.items()):
            family.add_metric([lease], 0.0 if tenure is None else 1.0)
        yield family
