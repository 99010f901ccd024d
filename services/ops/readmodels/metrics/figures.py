"""The deployment-wide metric families: what the ``metrics`` service exposes.

Two kinds. Counters and histograms (stage latencies, rejections, unroutable) are fed by
the metrics projector: each ledger event is observed once, by the one projector that
applied it, so summing over instances gives the total and a restart starts a counter
afresh (which ``rate()`` and ``increase()`` expect). Gauges (submissions by status, lag,
deliveries awaiting a receipt, dead letters) are a snapshot of the read models and the
broker, taken each interval; every instance shows the same values, so aggregate them
with ``max``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from events.lifecycle import Status
from services.delivery.store import OpenDeliveries
from services.ops.readmodels.metrics.stages import Changes

HOUR, DAY = 3600.0, 86400.0
LATENCY_BUCKETS = (
    *(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0),
    *(HOUR, 4 * HOUR, DAY, 3 * DAY, 9 * DAY, 14 * DAY),
)
"""From a validation in milliseconds to a receipt after days (reminders at 3 and 9 days)."""

AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    *(("0-1h", HOUR), ("1h-1d", DAY), ("1d-3d", 3 * DAY), ("3d-9d", 9 * DAY)),
    *(("9d-14d", 14 * DAY), ("14d+", math.inf)),
)
"""Deliveries awaiting a receipt by age: label and upper edge (FIT-Connect's deadlines)."""

STAGES = (
    ("validation", "validated"),
    ("validation", "rejected"),
    ("routing", "routed"),
    ("routing", "unroutable"),
    ("delivery", "dispatched"),
    ("receipt", "accepted"),
    ("receipt", "refused"),
)


class SubmissionFigures:
    """Counters and histograms observed from applied batches of ledger events."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.latency = Histogram(
            "amtsweg_stage_latency_seconds",
            "Time a submission spent in a stage, between the ledger events' timestamps",
            ["stage", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.rejections = Counter(
            "amtsweg_rejections",
            "Submissions rejected by validation, by problem type (once per type and submission)",
            ["type"],
            registry=registry,
        )
        self.unroutable = Counter(
            "amtsweg_unroutable",
            "Submissions no single authority was found for, by reason",
            ["reason"],
            registry=registry,
        )
        for stage, outcome in STAGES:  # every series exists from the start
            self.latency.labels(stage, outcome)

    def observe(self, changes: Changes) -> None:
        """Record what one applied batch brought."""
        for latency in changes.latencies:
            self.latency.labels(latency.stage, latency.outcome).observe(latency.seconds)
        for slug, count in changes.rejections.items():
            self.rejections.labels(slug).inc(count)
        for reason, count in changes.unroutable.items():
            self.unroutable.labels(reason).inc(count)


@dataclass(frozen=True)
class Snapshot:
    """The gauges' values at one moment; None where the source could not be read."""

    collected_at: float
    statuses: Mapping[str, int] | None = None
    ledger_position: int | None = None
    relay_positions: Mapping[str, int] | None = None
    relay_heads: Mapping[str, int] | None = None
    """Each relay's shard's newest notification id (None: every relay's is ``ledger_position``)."""
    deliveries: OpenDeliveries | None = None
    consumer_lag: Mapping[tuple[str, str], int] | None = None
    intake_dead_letters: tuple[int, int] | None = None
    """(every dead letter ever written, those still retained on the topic)."""
    parked: Mapping[tuple[str, str], int] | None = None
    """Messages ever parked, per (kind, place) (:mod:`events.parking`)."""
    tenant_statuses: Mapping[tuple[str, str], int] | None = None
    """Submissions per (tenant, status) when tenants are configured
    (:mod:`services.ops.readmodels.metrics.tenants`)."""


class SnapshotCollector(Collector):
    """Renders the latest snapshot on each scrape (no I/O at scrape time)."""

    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None

    def collect(self) -> Iterator[Metric]:
        snapshot = self.snapshot
        if snapshot is None:
            return
        yield _gauge(
            "amtsweg_metrics_collected_timestamp_seconds",
            "When the metrics service last read the ledger and the broker",
            snapshot.collected_at,
        )
        if snapshot.statuses is not None:
            statuses = GaugeMetricFamily(
                "amtsweg_submissions", "Submissions by status now", labels=["status"]
            )
            for status in Status:
                statuses.add_metric([status.value], snapshot.statuses.get(status.value, 0))
            yield statuses
        if snapshot.tenant_statuses is not None:
            by_tenant = GaugeMetricFamily(
                "amtsweg_tenant_submissions",
                "Submissions by tenant (their portal's and their authority's) and status now",
                labels=["tenant", "status"],
            )
            for (tenant, state), count in sorted(snapshot.tenant_statuses.items()):
                by_tenant.add_metric([tenant, state], count)
            yield by_tenant
        yield from _relay(snapshot)
        if snapshot.deliveries is not None:
            yield from _deliveries(snapshot.deliveries, snapshot.collected_at)
        if snapshot.consumer_lag is not None:
            lag = GaugeMetricFamily(
                "amtsweg_kafka_consumer_lag",
                "Messages a consumer group has not committed yet, by topic",
                labels=["group", "topic"],
            )
            for (group, topic), value in sorted(snapshot.consumer_lag.items()):
                lag.add_metric([group, topic], value)
            yield lag
        if snapshot.parked is not None:
            parked = CounterMetricFamily(
                "amtsweg_parked_messages",
                "Messages a stage's step failed on and events the relay could not publish, "
                "parked with their cause; the rest went on",
                labels=["kind", "place"],
            )
            for (kind, place), count in sorted(snapshot.parked.items()):
                parked.add_metric([kind, place], count)
            yield parked
        if snapshot.intake_dead_letters is not None:
            written, retained = snapshot.intake_dead_letters
            yield CounterMetricFamily(
                "amtsweg_intake_dead_letters",
                "Messages ever written to amtsweg.intake.dlq (its end offsets)",
                value=written,
            )
            yield _gauge(
                "amtsweg_intake_dead_letters_retained",
                "Messages amtsweg.intake.dlq still holds (end minus beginning offsets)",
                retained,
            )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _relay(snapshot: Snapshot) -> Iterator[Metric]:
    if snapshot.ledger_position is None or snapshot.relay_positions is None:
        return
    yield _gauge(
        "amtsweg_ledger_position",
        "The ledger's newest notification id",
        snapshot.ledger_position,
    )
    position = GaugeMetricFamily(
        "amtsweg_relay_position", "The relay's stored position", labels=["relay"]
    )
    lag = GaugeMetricFamily(
        "amtsweg_relay_lag_events",
        "Ledger events the relay has not yet published",
        labels=["relay"],
    )
    for relay, value in sorted(snapshot.relay_positions.items()):
        position.add_metric([relay], value)
        head = (snapshot.relay_heads or {}).get(relay, snapshot.ledger_position)
        lag.add_metric([relay], max(0, head - value))
    yield position
    yield lag


def _deliveries(open_: OpenDeliveries, now: float) -> Iterator[Metric]:
    awaiting = GaugeMetricFamily(
        "amtsweg_deliveries_awaiting_receipt",
        "Dispatched deliveries without a receipt, by age",
        labels=["age"],
    )
    older = [*open_.dispatched_before, 0]  # deliveries at least as old as each edge
    younger = open_.total
    for (label, _), at_least in zip(AGE_BUCKETS, older, strict=True):
        awaiting.add_metric([label], younger - at_least)
        younger = at_least
    yield awaiting
    oldest = 0.0 if open_.oldest_dispatched_at is None else now - open_.oldest_dispatched_at
    yield _gauge(
        "amtsweg_deliveries_awaiting_receipt_oldest_seconds",
        "Age of the oldest delivery without a receipt (0 when there is none)",
        max(0.0, oldest),
    )
    yield _gauge(
        "amtsweg_delivery_dead_letters",
        "Deliveries without a receipt whose callbacks gave up (DeliveryFailed)",
        open_.dead_letters,
    )


def age_cutoffs(now: float) -> list[float]:
    """Dispatch times at the finite age edges, to ask the delivery store with."""
    return [now - edge for _, edge in AGE_BUCKETS if math.isfinite(edge)]
