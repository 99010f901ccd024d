"""``amtsweg chaos``: kill every part of Amtsweg under load, then prove nothing was lost.

Starts Amtsweg as one process per service (intake with HTTP, validation, routing,
delivery, relay, notifier) on a fresh temporary data dir (SQLite ledger, file blobs) and
on the broker of ``KAFKA_BOOTSTRAP_SERVERS`` or a local one it starts itself (always its
own with ``--own-broker``). While an open-loop load of distinct submissions arrives (half
over HTTP, half over ``amtsweg.intake``; see :mod:`harness.chaos.load`), it SIGKILLs each process
at seeded random moments and starts it again after a short pause, and restarts the broker
once (see :mod:`harness.chaos.faults`). Once quiet, it reads the ledger and the delivery topics
and checks them (:mod:`harness.chaos.check`). Exit code 0 only when nothing was lost and nothing
was violated; 1 otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from deploy.broker import BOOTSTRAP_ENV
from deploy.local_kafka import LocalKafka
from harness.chaos.faults import FaultLog, FaultRunner, plan_faults, service_of
from harness.chaos.processes import BrokerControl, ChaosProcesses
from harness.chaos.report import finish, print_report
from harness.chaos.run import Plan, run_chaos
from services.intake.auth import token_hash
from services.ops.app.logs import configure_logging

PORTAL = "chaos-portal"
progress = Console(stderr=True)
console = Console()


@dataclass(frozen=True)
class BrokerChoice:
    """Which broker, and whether and how to restart it."""

    own: bool
    restart: bool
    command: str | None
    crash: bool


def chaos(  # noqa: PLR0917 - typer options
    rate: Annotated[float, typer.Option(help="submissions per second offered")] = 20.0,
    duration: Annotated[float, typer.Option(help="seconds of load")] = 60.0,
    channels: Annotated[str, typer.Option(help="http, kafka or both (taking turns)")] = (
        "http,kafka"
    ),
    kills: Annotated[int, typer.Option(help="SIGKILLs per service process")] = 2,
    seed: Annotated[int | None, typer.Option(help="seed of the faults and the load")] = None,
    pause_min: Annotated[float, typer.Option(help="min seconds a killed process stays down")] = (
        0.5
    ),
    pause_max: Annotated[float, typer.Option(help="max seconds a killed process stays down")] = (
        3.0
    ),
    broker_restart: Annotated[bool, typer.Option(help="restart the broker once")] = True,
    broker_restart_command: Annotated[
        str | None, typer.Option(help="command that restarts an external broker")
    ] = None,
    broker_crash: Annotated[
        bool, typer.Option(help="SIGKILL the own broker instead of stopping it")
    ] = False,
    own_broker: Annotated[
        bool, typer.Option(help="start a local broker even if KAFKA_BOOTSTRAP_SERVERS is set")
    ] = False,
    invalid_share: Annotated[float, typer.Option(help="share of schema-invalid ones")] = 0.05,
    unroutable_share: Annotated[float, typer.Option(help="share of unroutable ones")] = 0.05,
    document_bytes: Annotated[int, typer.Option(help="size of the xdomea document")] = 20_000,
    retry_budget: Annotated[float, typer.Option(help="seconds a client keeps retrying")] = 60.0,
    settle_timeout: Annotated[float, typer.Option(help="max seconds to wait for quiet")] = 180.0,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    keep_data: Annotated[bool, typer.Option(help="keep the temporary data dir")] = False,
    log_level: Annotated[
        str, typer.Option(help="Amtsweg's log level: INFO or DEBUG (readiness is an INFO line)")
    ] = "INFO",
) -> None:
    """Kill every service (SIGKILL) and restart the broker under load; check nothing is lost."""
    wanted = [c.strip() for c in channels.split(",") if c.strip()]
    if not wanted or set(wanted) - {"http", "kafka"}:
        raise typer.BadParameter("--channels: http, kafka or http,kafka")
    if log_level.upper() not in ("INFO", "DEBUG"):
        raise typer.BadParameter("--log-level: INFO or DEBUG (a restart is ready at an INFO line)")
    if not 0 < pause_min <= pause_max:
        raise typer.BadParameter("need 0 < --pause-min <= --pause-max")
    configure_logging(level="WARNING")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the broker is away on purpose
    seed = seed if seed is not None else secrets.randbelow(2**31)
    plan = Plan(
        rate=rate,
        duration=duration,
        channels=list(dict.fromkeys(wanted)),
        invalid_share=invalid_share,
        unroutable_share=unroutable_share,
        document_bytes=document_bytes,
        retry_budget=retry_budget,
        settle_timeout=settle_timeout,
        portal_id=PORTAL,
        run_id=uuid.uuid4().hex[:8],
        seed=seed,
    )
    choice = BrokerChoice(own_broker, broker_restart, broker_restart_command, broker_crash)
    scratch = Path(tempfile.mkdtemp(prefix="amtsweg-chaos-"))
    keep = True
    try:
        report = _run(
            plan, choice, scratch, kills=kills, pause=(pause_min, pause_max), log_level=log_level
        )
        keep = keep_data or not report["checks"]["ok"]
    finally:
        if keep:
            progress.print(f"data dir kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    report["dataDir"] = str(scratch) if keep else None
    finish(console, report, print_report, as_json=as_json)


def _run(
    plan: Plan,
    choice: BrokerChoice,
    scratch: Path,
    *,
    kills: int,
    pause: tuple[float, float],
    log_level: str,
) -> dict[str, Any]:
    with _broker(scratch, choice) as control:
        token = secrets.token_urlsafe(24)
        processes = ChaosProcesses(
            scratch / "amtsweg",
            control.bootstrap_servers,
            {plan.portal_id: token_hash(token)},
            log_level=log_level,
        )
        progress.print(f"seed {plan.seed}; broker {control.bootstrap_servers}; data {scratch}")
        progress.print("starting Amtsweg, one process per service")
        log = FaultLog()
        if not choice.restart:
            log.broker_skipped = "not asked for (--no-broker-restart)"
        try:
            processes.start()
            faults = plan_faults(
                random.Random(plan.seed),  # noqa: S311 - a repeatable plan, not a secret
                list(processes.children),
                kills=kills,
                duration=plan.duration,
                pause=pause,
                broker=choice.restart,
            )
            runner = FaultRunner(processes, control, log)
            progress.print(
                f"load {plan.rate:g}/s for {plan.duration:g} s; {len(faults)} faults planned"
            )
            report = asyncio.run(
                run_chaos(
                    plan, processes, runner=runner, faults=faults, token=token, progress=progress
                )
            )
        finally:
            codes = processes.stop()
    for service in {service_of(name) for name in codes}:
        log.kills.setdefault(service, 0)
    report["faults"] = log.as_dict()
    report["exitCodes"] = codes
    if log.broker_skipped and choice.restart:
        progress.print(f"broker restart skipped: {log.broker_skipped}")
    return report


@contextlib.contextmanager
def _broker(scratch: Path, choice: BrokerChoice) -> Iterator[BrokerControl]:
    """An external cluster (unless ``--own-broker``), else a local broker of our own."""
    configured = os.environ.get(BOOTSTRAP_ENV, "").strip()
    if configured and not choice.own:
        yield BrokerControl(configured, command=choice.command)
        return
    local = LocalKafka(scratch / "broker")
    local.start()
    try:
        yield BrokerControl(local.bootstrap_servers, local=local, crash=choice.crash)
    finally:
        local.stop()


def register(app: typer.Typer) -> None:
    """Add ``chaos`` to the ``amtsweg`` command (the ``amtsweg.cli`` entry point)."""
    app.command("chaos")(chaos)
