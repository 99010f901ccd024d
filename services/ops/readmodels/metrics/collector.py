"""The ``metrics`` service: reads the ledger, its read models and the broker each interval.

It brings the metrics read model and the deliveries read model up to date, then takes a
snapshot of the gauges. A source that cannot be read leaves its gauges out of the
snapshot (they disappear rather than show stale values) and counts an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import replace

import psycopg
import structlog
from aiokafka.errors import KafkaError
from eventsourcing.persistence import PersistenceError
from prometheus_client import CollectorRegistry, Counter

from contracts import topics
from events.ledger import Ledger
from events.parking import RELAY, STAGE, ParkingLot
from events.relay_store import RelayStore
from events.shards import shard_name
from services.delivery.projector import DeliveryProjector
from services.ops.readmodels.metrics.figures import Snapshot, SnapshotCollector, age_cutoffs
from services.ops.readmodels.metrics.kafka import KafkaOffsets
from services.ops.readmodels.metrics.projector import StageProjector

log = structlog.get_logger(__name__)

MAIN_RELAY = "relay"
RELAYS = (MAIN_RELAY,)
"""The relays whose position is watched: shard 0's (``Relay``'s default name), and
``relay-shard<k>`` per further ledger shard."""

PARKING_PLACES = (
    (STAGE, "validation"),
    (STAGE, "routing"),
    (STAGE, "delivery"),
    *((RELAY, relay) for relay in RELAYS),
)
"""Where messages can be parked: each counted from 0, so that the first one is an increase."""

_LEDGER_ERRORS = (OSError, sqlite3.Error, psycopg.Error, PersistenceError)


class DeploymentMetrics:
    """Collects the deployment-wide figures, interval by interval."""

    def __init__(
        self,
        ledger: Ledger,
        stages: StageProjector,
        deliveries: DeliveryProjector,
        relays: RelayStore,
        *,
        offsets: KafkaOffsets | None,
        parking: ParkingLot | None = None,
        tenants: Callable[[], Mapping[tuple[str, str], int]] | None = None,
        registry: CollectorRegistry,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ledger = ledger
        self._stages = stages
        self._deliveries = deliveries
        self._relays = relays
        self._offsets = offsets
        self._parking = parking
        self._tenants = tenants
        """Submissions per (tenant, status), read each interval (None: one tenant)."""
        self._clock = clock
        self.collector = SnapshotCollector()
        registry.register(self.collector)
        self._errors = Counter(
            "amtsweg_metrics_collect_errors",
            "Intervals in which the metrics service could not read a source",
            ["source"],
            registry=registry,
        )
        for source in ("ledger", "kafka"):
            self._errors.labels(source)

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        """Collect until ``stop`` is set."""
        log.info("metrics.started", interval_seconds=interval)
        while not stop.is_set():
            await self.collect()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
        log.info("metrics.stopped")

    async def collect(self) -> Snapshot:
        """Take one snapshot (and feed the counters with what the ledger brought)."""
        now = self._clock()
        try:
            snapshot = await asyncio.to_thread(self._from_ledger, now)
        except _LEDGER_ERRORS as error:
            self._errors.labels("ledger").inc()
            log.warning("metrics.ledger_unreadable", error=type(error).__name__)
            snapshot = Snapshot(collected_at=now)
        if self._offsets is not None:
            try:
                lag = await self._offsets.consumer_lag()
                dead_letters = await self._offsets.topic_offsets(topics.INTAKE_DLQ)
            except (KafkaError, OSError, TimeoutError) as error:
                self._errors.labels("kafka").inc()
                log.warning("metrics.kafka_unreadable", error=type(error).__name__)
            else:
                snapshot = replace(snapshot, consumer_lag=lag, intake_dead_letters=dead_letters)
        self.collector.snapshot = snapshot
        return snapshot

    def _from_ledger(self, now: float) -> Snapshot:
        self._stages.catch_up()
        self._deliveries.catch_up()
        heads = [int(shard.recorder.max_notification_id() or 0) for shard in self._ledger.shards]
        relays = [shard_name(MAIN_RELAY, index) for index in range(len(heads))]
        return Snapshot(
            collected_at=now,
            statuses=self._stages.store.status_counts(),
            ledger_position=heads[0],
            relay_positions={relay: self._relays.position(relay) for relay in relays},
            relay_heads=dict(zip(relays, heads, strict=True)),
            deliveries=self._deliveries.store.open_deliveries(age_cutoffs(now)),
            parked=self._parked() if self._parking is not None else None,
            tenant_statuses=self._tenants() if self._tenants is not None else None,
        )

    def _parked(self) -> dict[tuple[str, str], int]:
        assert self._parking is not None
        counts = dict.fromkeys(PARKING_PLACES, 0)
        for (kind, place, _cause), count in self._parking.counts().items():
            counts[kind, place] = counts.get((kind, place), 0) + count
        return counts
