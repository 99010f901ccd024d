"""``amtsweg cluster up`` and ``down``: the platform on this machine, until Ctrl-C.

``up`` starts three Kafka brokers, PostgreSQL and every service as its own process
(:func:`harness.cluster.platform.cluster_platform`) in an empty data dir (a fresh
temporary one unless ``--data-dir`` names one), prints where each part listens and what
a client or an ``amtsweg`` command needs to reach it, and stops everything on Ctrl-C or
SIGTERM. ``down --data-dir`` ends what a ``cluster up`` that could not clean up left
running there.
"""

from __future__ import annotations

import logging
import secrets
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from harness.cluster.platform import STATE_FILE, Topology, cluster_platform, tear_down
from services.intake.auth import token_hash
from services.ops.app.logs import configure_logging

PORTAL = "cluster-portal"
console = Console()


def quiet_logs() -> None:
    """Warnings only; aiokafka is silent (brokers go away on purpose)."""
    configure_logging(level="WARNING")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


def up(
    data_dir: Annotated[
        Path | None, typer.Option(help="an empty folder for everything (default: a fresh one)")
    ] = None,
    relays: Annotated[int, typer.Option(help="relay processes (more: standbys)", min=1)] = 1,
    shards: Annotated[int, typer.Option(help="ledger shards (AMTSWEG_LEDGER_SHARDS)", min=1)] = 1,
) -> None:
    """Start three Kafka brokers, PostgreSQL and every service; stop them on Ctrl-C."""
    quiet_logs()
    target = data_dir or Path(tempfile.mkdtemp(prefix="amtsweg-cluster-"))
    if target.exists() and any(target.iterdir()):
        raise typer.BadParameter(
            f"{target} is not empty (if a cluster ran there: amtsweg cluster down --data-dir)"
        )
    token = secrets.token_urlsafe(24)
    signal.signal(signal.SIGTERM, _interrupt)
    console.print(f"starting 3 Kafka brokers, PostgreSQL and every service in {target}")
    topology = Topology(relays=relays, shards=shards)
    with cluster_platform(target, {PORTAL: token_hash(token)}, topology=topology) as platform:
        table = Table(title="Amtsweg on a three-broker cluster")
        table.add_column("part")
        table.add_column("address")
        for name, address in platform.addresses().items():
            table.add_row(name, address)
        console.print(table)
        console.print(f"KAFKA_BOOTSTRAP_SERVERS={platform.kafka.bootstrap_servers}", soft_wrap=True)
        console.print(f"AMTSWEG_LEDGER_URL={platform.postgres.dsn}", soft_wrap=True)
        console.print(f"portal {PORTAL!r}, bearer token {token}", soft_wrap=True)
        console.print(f"logs: {platform.processes.data_dir / 'logs'}; Ctrl-C stops everything")
        try:
            _wait(platform.processes.exited, list(platform.processes.children))
        except KeyboardInterrupt:
            console.print("stopping")
    console.print("stopped")


def down(
    data_dir: Annotated[Path, typer.Option(help="the data dir of `amtsweg cluster up`")],
) -> None:
    """End the processes a `cluster up` in --data-dir left running."""
    ended = tear_down(data_dir.resolve())
    if not ended and not (data_dir / STATE_FILE).exists():
        console.print(f"nothing recorded as running in {data_dir}")
        return
    console.print(f"ended: {', '.join(ended) or 'nothing (all had stopped)'}")


def _wait(exited: Callable[[str], int | None], children: list[str]) -> None:
    """Until interrupted; say once when a child has stopped on its own."""
    reported: set[str] = set()
    while True:
        for name in children:
            if name not in reported and exited(name) is not None:
                console.print(f"[yellow]{name} stopped (exit {exited(name)})[/yellow]")
                reported.add(name)
        time.sleep(1.0)


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt
