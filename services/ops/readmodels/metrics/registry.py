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


class CheckpointFigures(Collector):
    """How the ``checkpoint`` service of this process is doing (for a staleness alert)."""

    def __init__(self, writer: CheckpointWriter) -> None:
        self._writer = writer

    def collect(self) -> Iterator[Metric]:
        if self._writer.succeeded_at is not None:
            yield GaugeMetricFamily(
                "amtsweg_checkpoint_last_success_timestamp_seconds",
                "When the checkpoint writer last covered the ledger (a checkpoint written, "
                "or none needed), in seconds since the epoch",
                value=self._writer.succeeded_at,
            )
        yield CounterMetricFamily(
            "amtsweg_checkpoint_failures",
            "Rounds in which the checkpoint writer could not write a checkpoint",
            value=self._writer.failures,
        )


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
