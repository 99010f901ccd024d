"""The cluster's own faults for ``amtsweg cluster chaos``: a broker, the database.

Each is an :class:`~harness.chaos.faults.Outage`, run in a worker thread at its moment:

- :class:`BrokerLeaderOutage` asks the cluster which broker leads the most partitions,
  SIGKILLs it, leaves it down ``down_s`` seconds, starts it again on its storage and
  waits until every partition has all its replicas in sync again;
- :class:`PostgresOutage` stops PostgreSQL at once (``-m immediate``: as a crash, it
  recovers from its write-ahead log at the next start) and starts it after ``down_s``.

Both report how long the fault lasted and when the pipeline went on: the seconds from
the fault until the relay's stored position (the ledger's events published to Kafka)
moved past where it stood, under the load that keeps arriving.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import psycopg

from deploy.local_cluster import LocalKafkaCluster
from events.relay_store import RelayStore
from harness.chaos.facts import RELAY
from harness.cluster.admin import describe_all, wait_in_sync
from harness.cluster.leaders import busiest_leader, leaders
from harness.postgres import LocalPostgres

IN_SYNC_LIMIT_S = 240.0
RESUME_LIMIT_S = 180.0
POLL_S = 0.25


@dataclass(frozen=True)
class RelayProgress:
    """The relay's stored position, read as the check reads it (None while unreadable)."""

    store: RelayStore

    def position(self) -> int | None:
        """The position now, or None while the database does not answer."""
        with suppress(psycopg.Error, OSError):
            return self.store.position(RELAY)
        return None

    def resumed_after(
        self, before: int, since: float, limit_s: float = RESUME_LIMIT_S
    ) -> float | None:
        """Seconds from ``since`` until the position passes ``before``; None when it has not
        ``limit_s`` seconds after ``since``."""
        while time.monotonic() - since < limit_s:
            now = self.position()
            if now is not None and now > before:
                return round(time.monotonic() - since, 2)
            time.sleep(POLL_S)
        return None

    def current(self) -> int:
        """The position now, waiting while the database does not answer."""
        while (now := self.position()) is None:
            time.sleep(POLL_S)
        return now


@dataclass(frozen=True)
class BrokerLeaderOutage:
    """SIGKILL the broker that leads the most partitions; start it again after ``down_s``."""

    kafka: LocalKafkaCluster
    progress: RelayProgress
    down_s: float

    def __call__(self) -> dict[str, Any]:
        """Kill, wait, restart, wait for full replication; the figures."""
        described = asyncio.run(describe_all(self.kafka.bootstrap_servers))
        node = busiest_leader(described, self.kafka.members)
        led = leaders(described)[node]
        before = self.progress.current()
        killed = time.monotonic()
        self.kafka.kill(node)
        resumed = self.progress.resumed_after(before, killed, self.down_s)
        time.sleep(max(0.0, killed + self.down_s - time.monotonic()))
        down = round(time.monotonic() - killed, 2)
        self.kafka.start_node(node)
        answered = round(time.monotonic() - killed - down, 2)
        in_sync = asyncio.run(wait_in_sync(self.kafka.bootstrap_servers, IN_SYNC_LIMIT_S))
        if resumed is None:  # not while the broker was down: since it is back?
            resumed = self.progress.resumed_after(before, killed)
        return {
            "node": node,
            "partitionsLed": led,
            "partitions": sum(leaders(described).values()),
            "downSeconds": down,
            "relayResumedAfter": resumed,
            "answersAfterStart": answered,
            "inSyncAfterStart": round(answered + in_sync, 2),
        }


@dataclass(frozen=True)
class PostgresOutage:
    """Stop PostgreSQL at once; start it again after ``down_s``."""

    postgres: LocalPostgres
    progress: RelayProgress
    down_s: float

    def __call__(self) -> dict[str, Any]:
        """Crash, wait, start; the figures."""
        before = self.progress.current()
        crashed = time.monotonic()
        self.postgres.crash()
        time.sleep(self.down_s)
        self.postgres.start()
        down = round(time.monotonic() - crashed, 2)
        resumed = self.progress.resumed_after(before, crashed)
        return {"downSeconds": down, "relayResumedAfter": resumed}
