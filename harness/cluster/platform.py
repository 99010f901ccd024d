"""The whole platform on this machine: three Kafka brokers, PostgreSQL, every service.

:func:`cluster_platform` starts a :class:`~deploy.local_cluster.LocalKafkaCluster`
(three KRaft nodes), a :class:`~harness.postgres.LocalPostgres` as the ledger,
and Amtsweg as one process per service (:class:`~harness.chaos.processes.ChaosProcesses`),
each told the ledger's URL and to create its topics with three replicas and
``min.insync.replicas`` 2; it stops all of them on the way out, whatever happened. The
state file names every process, so ``amtsweg cluster down`` can end what a ``cluster up``
that died left behind.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import structlog

from deploy.kafka_quorum import MIN_INSYNC_REPLICAS, REPLICATION_FACTOR
from deploy.local_cluster import LocalKafkaCluster
from events.settings import LedgerSettings
from harness.chaos.processes import ChaosProcesses
from harness.postgres import LocalPostgres

STATE_FILE = "cluster.json"
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Topology:
    """How many of each: relay processes (more than one: standbys) and ledger shards."""

    relays: int = 1
    shards: int = 1

    def environment(self, ledger_url: str) -> dict[str, str]:
        """What every service process is told beside the chaos harness's own settings."""
        env = {
            "AMTSWEG_LEDGER_URL": ledger_url,
            "AMTSWEG_TOPIC_REPLICATION_FACTOR": str(REPLICATION_FACTOR),
            "AMTSWEG_TOPIC_MIN_INSYNC_REPLICAS": str(MIN_INSYNC_REPLICAS),
        }
        if self.shards > 1:
            env["AMTSWEG_LEDGER_SHARDS"] = str(self.shards)
        return env


@dataclass(frozen=True)
class ClusterPlatform:
    """What runs, and where to reach it."""

    kafka: LocalKafkaCluster
    postgres: LocalPostgres
    processes: ChaosProcesses
    data_dir: Path
    shards: int = 1

    @property
    def ledger(self) -> LedgerSettings:
        """The services' ledger, as the harness opens it to check (all its shards)."""
        return LedgerSettings(
            data_dir=self.processes.data_dir,
            ledger_url=self.postgres.dsn,
            ledger_shards=self.shards,
        )

    def addresses(self) -> dict[str, str]:
        """Name → address of each part (no credentials)."""
        found = {f"kafka node {n.node_id}": n.bootstrap_server for n in self.kafka.nodes}
        found["postgresql"] = self.postgres.address
        found |= {f"http {n}": url for n, url in enumerate(self.processes.urls, start=1)}
        return found

    def write_state(self) -> None:
        """Record every process id (``amtsweg cluster down`` reads it)."""
        pids = {
            **{f"kafka-{n}": m.pid for n, m in self.kafka.members.items() if m.pid is not None},
            **self.processes.pids(),
        }
        state = {"pids": pids, "postgres": str(self.postgres.data), "marker": str(self.data_dir)}
        (self.data_dir / STATE_FILE).write_text(json.dumps(state, indent=2), encoding="utf-8")


@contextmanager
def cluster_platform(
    data_dir: Path,
    portal_tokens: dict[str, str],
    *,
    topology: Topology = Topology(),
    log_level: str = "INFO",
) -> Iterator[ClusterPlatform]:
    """Start brokers, PostgreSQL and the services under ``data_dir``; stop them after."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    kafka = LocalKafkaCluster(data_dir / "kafka")
    postgres = LocalPostgres(data_dir / "postgres")
    kafka.start()
    try:
        postgres.start()
        try:
            processes = ChaosProcesses(
                data_dir / "amtsweg",
                kafka.bootstrap_servers,
                portal_tokens,
                log_level=log_level,
                env=topology.environment(postgres.dsn),
                relays=topology.relays,
            )
            try:
                processes.start()
                platform = ClusterPlatform(
                    kafka, postgres, processes, data_dir, shards=topology.shards
                )
                platform.write_state()
                yield platform
            finally:
                processes.stop()
        finally:
            postgres.stop()
    finally:
        kafka.stop()
        (data_dir / STATE_FILE).unlink(missing_ok=True)


def tear_down(data_dir: Path) -> list[str]:
    """End what the state file under ``data_dir`` names and still runs; what was ended."""
    state_file = data_dir / STATE_FILE
    if not state_file.is_file():
        return []
    state = json.loads(state_file.read_text(encoding="utf-8"))
    ended = []
    for name, pid in state["pids"].items():
        if _belongs(int(pid), state["marker"]):
            with suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGTERM)
                ended.append(name)
    _kill_stragglers([int(state["pids"][name]) for name in ended], state["marker"])
    postmaster = Path(state["postgres"]) / "postmaster.pid"
    if postmaster.is_file():
        pid = int(postmaster.read_text(encoding="utf-8").split()[0])
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)  # PostgreSQL's immediate shutdown
            ended.append("postgresql")
    state_file.unlink()
    return ended


def _kill_stragglers(pids: list[int], marker: str, grace_s: float = 30.0) -> None:
    """SIGKILL what has not ended ``grace_s`` after SIGTERM (a relay whose brokers are gone
    can wait on them for longer)."""
    deadline = time.monotonic() + grace_s
    while any(_belongs(pid, marker) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid in pids:
        if _belongs(pid, marker):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _belongs(pid: int, marker: str) -> bool:
    """Whether process ``pid`` is one of ours: ``marker`` in its command line or data dir."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        environment = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return marker.encode() in command or marker.encode() in environment
