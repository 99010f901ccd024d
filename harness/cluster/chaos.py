"""``amtsweg cluster chaos``: the chaos run on three brokers and PostgreSQL.

Starts the platform (:func:`harness.cluster.platform.cluster_platform`) on a fresh
temporary data dir and, under the open-loop load of ``amtsweg chaos``, SIGKILLs every
service process (each ``--kills`` times, started again after a short pause), SIGKILLs
the broker that leads the most partitions and starts it again ``--broker-down`` seconds
later, and stops PostgreSQL at once and starts it again. Then the checks of ``amtsweg
chaos`` (:mod:`harness.chaos.check`): nothing lost, no double effect, every trail
verifies. Exit code 0 only when they pass.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from events.relay_store import relay_store
from harness.chaos.command import PORTAL
from harness.chaos.faults import FaultLog, FaultRunner, Outage, service_of
from harness.chaos.processes import BrokerControl
from harness.chaos.report import finish, print_report
from harness.chaos.run import Plan, run_chaos
from harness.cluster.admin import describe_all
from harness.cluster.leaders import replication_factors, under_replicated
from harness.cluster.outages import BrokerLeaderOutage, PostgresOutage, RelayProgress
from harness.cluster.plan import KAFKA_LEADER, POSTGRES, plan_cluster_faults, recovery_seconds
from harness.cluster.platform import ClusterPlatform, Topology, cluster_platform
from harness.cluster.report import print_cluster_report
from harness.cluster.up import quiet_logs
from services.intake.auth import token_hash

progress = Console(stderr=True)
console = Console()


def cluster_chaos(  # noqa: PLR0917 - typer options
    rate: Annotated[float, typer.Option(help="submissions per second offered")] = 20.0,
    duration: Annotated[float, typer.Option(help="seconds of load")] = 150.0,
    kills: Annotated[int, typer.Option(help="SIGKILLs per service process")] = 1,
    broker_down: Annotated[float, typer.Option(help="seconds the killed broker stays down")] = (
        20.0
    ),
    postgres_down: Annotated[float, typer.Option(help="seconds PostgreSQL stays down")] = 3.0,
    relays: Annotated[int, typer.Option(help="relay processes (more: standbys)", min=1)] = 1,
    shards: Annotated[int, typer.Option(help="ledger shards (AMTSWEG_LEDGER_SHARDS)", min=1)] = 1,
    seed: Annotated[int | None, typer.Option(help="seed of the faults and the load")] = None,
    pause_min: Annotated[float, typer.Option(help="min seconds a killed service stays down")] = (
        0.5
    ),
    pause_max: Annotated[float, typer.Option(help="max seconds a killed service stays down")] = (
        3.0
    ),
    settle_timeout: Annotated[float, typer.Option(help="max seconds to wait for quiet")] = 240.0,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    keep_data: Annotated[bool, typer.Option(help="keep the temporary data dir")] = False,
) -> None:
    """Kill a broker, PostgreSQL and every service under load; check nothing is lost."""
    if not 0 < pause_min <= pause_max:
        raise typer.BadParameter("need 0 < --pause-min <= --pause-max")
    quiet_logs()
    seed = seed if seed is not None else secrets.randbelow(2**31)
    plan = Plan(
        rate=rate,
        duration=duration,
        channels=["http", "kafka"],
        invalid_share=0.05,
        unroutable_share=0.05,
        document_bytes=20_000,
        retry_budget=90.0,
        settle_timeout=settle_timeout,
        portal_id=PORTAL,
        run_id=uuid.uuid4().hex[:8],
        seed=seed,
    )
    scratch = Path(tempfile.mkdtemp(prefix="amtsweg-cluster-"))
    keep = True
    try:
        token = secrets.token_urlsafe(24)
        topology = Topology(relays=relays, shards=shards)
        progress.print(f"seed {seed}; starting 3 Kafka brokers, PostgreSQL and every service")
        with cluster_platform(scratch, {PORTAL: token_hash(token)}, topology=topology) as platform:
            report = _run(
                plan, platform, token, kills, (pause_min, pause_max), broker_down, postgres_down
            )
        keep = keep_data or not report["checks"]["ok"]
    finally:
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)
    report["dataDir"] = str(scratch) if keep else None
    report["topology"] = {"brokers": 3, "relays": relays, "shards": shards}
    finish(console, report, print_report, print_cluster_report, as_json=as_json)


def _run(  # noqa: PLR0917 - the run's parts
    plan: Plan,
    platform: ClusterPlatform,
    token: str,
    kills: int,
    pause: tuple[float, float],
    broker_down: float,
    postgres_down: float,
) -> dict[str, Any]:
    processes = platform.processes
    relay = RelayProgress(relay_store(platform.ledger))
    outages: dict[str, Outage] = {
        KAFKA_LEADER: BrokerLeaderOutage(platform.kafka, relay, broker_down),
        POSTGRES: PostgresOutage(platform.postgres, relay, postgres_down),
    }
    faults = plan_cluster_faults(
        random.Random(plan.seed),  # noqa: S311 - a repeatable plan, not a secret
        list(processes.children),
        kills=kills,
        duration=plan.duration,
        pause=pause,
    )
    log = FaultLog()
    runner = FaultRunner(
        processes, BrokerControl(platform.kafka.bootstrap_servers), log, outages=outages
    )
    progress.print(
        f"brokers {platform.kafka.bootstrap_servers}; ledger {platform.postgres.address}"
    )
    progress.print(f"load {plan.rate:g}/s for {plan.duration:g} s; {len(faults)} faults planned")
    try:
        report = asyncio.run(
            run_chaos(
                plan,
                processes,
                runner=runner,
                faults=faults,
                token=token,
                progress=progress,
                ledger_settings=platform.ledger,
            )
        )
        described = asyncio.run(describe_all(platform.kafka.bootstrap_servers))
    finally:
        codes = processes.stop()
    for service in {service_of(name) for name in codes}:
        log.kills.setdefault(service, 0)
    report["faults"] = log.as_dict()
    report["recovery"] = recovery_seconds(log.timeline)
    ours = {t: n for t, n in replication_factors(described).items() if t.startswith("amtsweg.")}
    report["replication"] = {
        "topics": len(ours),
        "fewestReplicas": min(ours.values(), default=0),
        "underReplicated": under_replicated(described),
    }
    report["exitCodes"] = codes
    return report
