"""``amtsweg failover``: the singletons fail over; how fast, and that nothing is lost.

Starts two ``amtsweg service relay`` and two ``amtsweg service notifier`` processes on one
fresh ledger (SQLite in a temporary data dir, or a throwaway PostgreSQL cluster with
``--ledger postgres``) and the broker of ``KAFKA_BOOTSTRAP_SERVERS`` or a local one of its
own. Under a steady load of submissions appended to the ledger it SIGKILLs the active
relay, then the active notifier, ``--kills`` times each, and prints the takeover times
(min/median/max) and the checks (:mod:`harness.failover.run`). Exit code 1 if a check fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from contracts import topics
from deploy.broker import BOOTSTRAP_ENV
from deploy.local_kafka import LocalKafka
from deploy.topics import ensure_topics
from events.settings import LedgerSettings
from harness.chaos.report import finish
from harness.failover.processes import SingletonProcesses
from harness.failover.report import print_report
from harness.failover.run import SINGLETONS, Plan, run_failover
from harness.postgres import throwaway_postgres
from services.ops.app.logs import configure_logging

progress = Console(stderr=True)
console = Console()


def failover(  # noqa: PLR0917 - typer options
    ledger: Annotated[str, typer.Option(help="sqlite or postgres (a throwaway cluster)")] = (
        "sqlite"
    ),
    kills: Annotated[int, typer.Option(help="SIGKILLs of the active process per singleton")] = 5,
    rate: Annotated[float, typer.Option(help="submissions appended per second")] = 20.0,
    lease_seconds: Annotated[float, typer.Option(help="AMTSWEG_LEASE_SECONDS")] = 10.0,
    calm: Annotated[float, typer.Option(help="seconds between a restart and the next kill")] = (
        2.0
    ),
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    keep_data: Annotated[bool, typer.Option(help="keep the temporary data dir")] = False,
) -> None:
    """SIGKILL the active relay and notifier under load; print the takeover times."""
    if ledger not in ("sqlite", "postgres"):
        raise typer.BadParameter("--ledger: sqlite or postgres")
    configure_logging(level="WARNING")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    scratch = Path(tempfile.mkdtemp(prefix="amtsweg-failover-"))
    plan = Plan(kills=kills, rate=rate, calm_s=calm)
    report: dict[str, Any] = {"ledger": ledger, "leaseSeconds": lease_seconds}
    try:
        with _ledger(ledger, scratch) as settings, _broker(scratch) as bootstrap:
            env = _environment(scratch, settings, bootstrap, lease_seconds)
            processes = SingletonProcesses(scratch / "logs", env, SINGLETONS)
            progress.print(f"ledger {ledger}; broker {bootstrap}; data {scratch}")
            asyncio.run(ensure_topics(bootstrap, [topics.RECEIVED]))
            try:
                report |= asyncio.run(run_failover(plan, processes, settings, bootstrap, progress))
            finally:
                report["exitCodes"] = processes.stop()
    finally:
        if not keep_data and report.get("checks", {}).get("ok"):
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            progress.print(f"data dir kept: {scratch}")
    finish(console, report, print_report, as_json=as_json)


def _environment(
    scratch: Path, settings: LedgerSettings, bootstrap: str, lease_seconds: float
) -> dict[str, str]:
    chain_keys = {"failover": secrets.token_urlsafe(32)}
    os.environ["AMTSWEG_LEDGER_CHAIN_KEYS"] = json.dumps(chain_keys)  # this process's ledger too
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMTSWEG_LEDGER_")}
    env.update(
        AMTSWEG_DATA_DIR=str(scratch / "amtsweg"),
        AMTSWEG_LEDGER_CHAIN_KEYS=json.dumps(chain_keys),
        KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        AMTSWEG_LEASE_SECONDS=str(lease_seconds),
        AMTSWEG_METRICS_PORT="0",
        AMTSWEG_LOG_LEVEL="INFO",
        AMTSWEG_DEVELOPMENT="true",  # a throwaway machine: generated keys
    )
    if settings.ledger_url is not None:
        env["AMTSWEG_LEDGER_URL"] = settings.ledger_url
    return env


@contextlib.contextmanager
def _ledger(backend: str, scratch: Path) -> Iterator[LedgerSettings]:
    data_dir = scratch / "amtsweg"
    if backend == "sqlite":
        yield LedgerSettings(data_dir=data_dir, ledger_url=None)
        return
    with throwaway_postgres() as dsn:
        yield LedgerSettings(data_dir=data_dir, ledger_url=dsn)


@contextlib.contextmanager
def _broker(scratch: Path) -> Iterator[str]:
    configured = os.environ.get(BOOTSTRAP_ENV, "").strip()
    if configured:
        yield configured
        return
    local = LocalKafka(scratch / "broker")
    local.start()
    try:
        yield local.bootstrap_servers
    finally:
        local.stop()


def register(app: typer.Typer) -> None:
    """Add ``failover`` to the ``amtsweg`` command (the ``amtsweg.cli`` entry point)."""
    app.command("failover")(failover)
