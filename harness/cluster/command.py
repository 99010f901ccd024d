"""``amtsweg cluster up|down|chaos`` (the ``amtsweg.cli`` entry point ``cluster``)."""

from __future__ import annotations

import typer

from harness.cluster.chaos import cluster_chaos
from harness.cluster.up import down, up


def register(app: typer.Typer) -> None:
    """Add the ``cluster`` commands to the ``amtsweg`` command."""
    cluster = typer.Typer(help="Amtsweg on three local Kafka brokers and PostgreSQL.")
    cluster.command("up")(up)
    cluster.command("down")(down)
    cluster.command("chaos")(cluster_chaos)
    app.add_typer(cluster, name="cluster")
