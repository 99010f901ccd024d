"""The ``amtsweg`` command line (typer + rich)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from importlib.metadata import entry_points
from typing import Annotated

import typer
from rich.console import Console

from deploy.broker import kafka_broker
from services.intake.settings import IntakeSettings
from services.ops.app.bootstrap import SERVICES
from services.ops.app.dev_portal import ensure_dev_portal
from services.ops.app.logs import configure_logging
from services.ops.app.runner import install_stop_signals, serve
from services.ops.app.settings import RunSettings
from services.ops.cli.authority import authority_app, deliveries
from services.ops.cli.dlq import dlq_app
from services.ops.cli.docs import docs
from services.ops.cli.inspect import events_app, rebuild, submissions_app, verify
from services.ops.cli.repair import redeliver, relay_app, replay
from services.ops.cli.routing import directory_app, route_app, triage_app

app = typer.Typer(
    help="Amtsweg: submission backbone for German e-government.", no_args_is_help=True
)
app.add_typer(events_app, name="events")
app.add_typer(submissions_app, name="submissions")
app.command("verify")(verify)
app.command("rebuild")(rebuild)
app.command("replay")(replay)
app.command("redeliver")(redeliver)
app.add_typer(relay_app, name="relay")
app.add_typer(dlq_app, name="dlq")
app.add_typer(authority_app, name="authority")
app.add_typer(route_app, name="route")
app.add_typer(directory_app, name="directory")
app.add_typer(triage_app, name="triage")
app.command("deliveries")(deliveries)
app.command("docs")(docs)
console = Console()

PLUGINS = "amtsweg.cli"
"""Entry-point group of command plugins (the harness's ``bench`` and ``chaos``): each
names a ``register(app)`` that adds its commands. The product never imports them."""


def add_plugins(root: typer.Typer) -> None:
    """Let every installed plugin register its commands; one that cannot load is named."""
    for plugin in entry_points(group=PLUGINS):
        try:
            register = plugin.load()
        except ImportError as error:
            Console(stderr=True).print(
                f"[yellow]amtsweg: command plugin {plugin.name!r} not loaded: {error}[/yellow]"
            )
            continue
        register(root)


add_plugins(app)


@app.command()
def run() -> None:
    """Run everything here: broker (unless configured), ledger, relay, services, HTTP."""
    settings = RunSettings()
    configure_logging(level=settings.log_level)
    intake = ensure_dev_portal(IntakeSettings(), settings.data_dir, console)
    signal.signal(signal.SIGTERM, _terminate)  # until the loop takes over: stop the broker too
    try:
        with kafka_broker(settings.data_dir) as broker:
            broker_file = settings.broker_file()
            broker_file.write_text(json.dumps({"bootstrap_servers": broker.bootstrap_servers}))
            try:
                asyncio.run(_serve(set(SERVICES), broker.bootstrap_servers, intake))
            finally:
                broker_file.unlink(missing_ok=True)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


@app.command()
def service(
    name: Annotated[str, typer.Argument(help=f"one of: {', '.join(SERVICES)}")],
) -> None:
    """Run one service (scale out by starting more); needs a running broker."""
    if name not in SERVICES:
        raise typer.BadParameter(f"unknown service {name!r}; choose from {', '.join(SERVICES)}")
    settings = RunSettings()
    configure_logging(level=settings.log_level)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap and settings.broker_file().exists():
        bootstrap = json.loads(settings.broker_file().read_text())["bootstrap_servers"]
    if not bootstrap:
        console.print("[red]No broker: set KAFKA_BOOTSTRAP_SERVERS or start `amtsweg run`.[/red]")
        raise typer.Exit(2)
    asyncio.run(_serve({name}, bootstrap, IntakeSettings()))


def _terminate(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signum)


async def _serve(services: set[str], bootstrap: str, intake: IntakeSettings) -> None:
    stop = asyncio.Event()
    install_stop_signals(stop)
    await serve(services, bootstrap, stop, intake=intake)


def main() -> None:
    """Entry point of the ``amtsweg`` script."""
    app()
