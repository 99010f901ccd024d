"""The ``amtsweg`` command line (typer + rich)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
from collections.abc import Set as AbstractSet
from importlib.metadata import entry_points
from typing import Annotated

import typer
from rich.console import Console

from contracts.kafka_security import KafkaSecurityError
from deploy.broker import kafka_broker
from events.chain_keys import ChainKeyError
from events.checkpoint_keys import CheckpointKeyError
from events.ledger import LedgerFormatError
from events.vault import KeyEncryptionKeyError
from services.delivery.signing import SigningKeyError
from services.ops.app.bootstrap import SERVICES, SIGNING_SERVICES, Wiring
from services.ops.app.dev_portal import ensure_dev_portal
from services.ops.app.logs import configure_logging
from services.ops.app.preflight import StartRefusedError, refuse_unless_configured
from services.ops.app.runner import install_stop_signals, serve
from services.ops.app.settings import MessageLimitError, Settings
from services.ops.cli import support
from services.ops.cli.access_log import access_log
from services.ops.cli.authority import authority_app, deliveries
from services.ops.cli.case import case_app
from services.ops.cli.checkpoint import checkpoint_app
from services.ops.cli.dlq import dlq_app
from services.ops.cli.docs import docs
from services.ops.cli.fitconnect_keys import (
    list_destination_keys,
    retire_destination_key,
    rotate_destination_key,
)
from services.ops.cli.inspect import events_app, rebuild, submissions_app, verify
from services.ops.cli.portal import portal_app
from services.ops.cli.protection import erase, keys_app, retention_app
from services.ops.cli.repair import redeliver, relay_app, replay
from services.ops.cli.routing import directory_app, route_app, triage_app
from services.ops.cli.usage import usage
from services.ops.tenants.tenants_file import TenantConfigError

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
app.command("erase")(erase)
app.add_typer(retention_app, name="retention")
keys_app.command("list-destination-keys")(list_destination_keys)
keys_app.command("rotate-destination-key")(rotate_destination_key)
keys_app.command("retire-destination-key")(retire_destination_key)
app.add_typer(keys_app, name="keys")
app.add_typer(checkpoint_app, name="checkpoint")
app.add_typer(portal_app, name="portal")
app.add_typer(case_app, name="case")
app.command("access-log")(access_log)
app.command("usage")(usage)
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


DevOption = Annotated[
    bool,
    typer.Option(
        "--dev",
        help="development mode (as AMTSWEG_DEVELOPMENT=true): generated keys and a portal "
        "token in the data dir, unkeyed hash chains; never where real applications are",
    ),
]


def _development(dev: bool) -> None:
    """``--dev`` switches on development mode for this process and what it starts."""
    if dev:
        os.environ["AMTSWEG_DEVELOPMENT"] = "true"


@app.command()
def run(dev: DevOption = False) -> None:
    """Run everything here: broker (unless configured), ledger, relay, services, HTTP."""
    _development(dev)
    settings = Settings.from_environment()
    configure_logging(level=settings.run.log_level)
    _open_or_refuse(settings)  # before a broker is started for nothing
    if settings.run.development:
        console.print(f"Development mode: keys and tokens made in {settings.run.data_dir}")
        intake = ensure_dev_portal(settings.intake, settings.run.data_dir, console)
        settings = dataclasses.replace(settings, intake=intake)
    signal.signal(signal.SIGTERM, _terminate)  # until the loop takes over: stop the broker too
    try:
        with kafka_broker(settings.run.data_dir) as broker:
            broker_file = settings.run.broker_file()
            broker_file.write_text(json.dumps({"bootstrap_servers": broker.bootstrap_servers}))
            try:
                asyncio.run(_serve(settings, set(SERVICES), broker.bootstrap_servers))
            finally:
                broker_file.unlink(missing_ok=True)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


@app.command()
def service(
    name: Annotated[str, typer.Argument(help=f"one of: {', '.join(SERVICES)}")],
    dev: DevOption = False,
) -> None:
    """Run one service (scale out by starting more); needs a running broker."""
    if name not in SERVICES:
        raise typer.BadParameter(f"unknown service {name!r}; choose from {', '.join(SERVICES)}")
    _development(dev)
    settings = Settings.from_environment()
    configure_logging(level=settings.run.log_level)
    _open_or_refuse(settings, {name})
    bootstrap = support.require_broker(settings.run)
    asyncio.run(_serve(settings, {name}, bootstrap))


REFUSALS = (
    LedgerFormatError,
    KeyEncryptionKeyError,
    KafkaSecurityError,
    MessageLimitError,
    SigningKeyError,
    StartRefusedError,
    ChainKeyError,
    CheckpointKeyError,
    TenantConfigError,
)
"""Why Amtsweg does not start: secrets missing outside development mode, a ledger of the
old format, a wrong KEK, chain keys or Kafka security settings that contradict each other,
limits that would accept submissions the relay cannot publish, unusable envelope signing
keys or checkpoint keys, a tenants file or operator scopes that cannot be used."""


def _open_or_refuse(settings: Settings, services: AbstractSet[str] = frozenset(SERVICES)) -> None:
    """Check the limits, open the ledger and the vault once, and the envelope signing keys
    where ``services`` sign (``REFUSALS`` end the command, see ``main``)."""
    refuse_unless_configured(settings, services)
    settings.check_message_limits()
    wiring = Wiring(settings)
    try:
        wiring.core  # noqa: B018 - opening is the check
        wiring.tenants()  # reading the tenants file and checking the scopes is the check
        if services & SIGNING_SERVICES:
            wiring.envelope_signer  # noqa: B018 - reading is the check
    finally:
        wiring.close()


def _terminate(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signum)


async def _serve(settings: Settings, services: set[str], bootstrap: str) -> None:
    stop = asyncio.Event()
    install_stop_signals(stop)
    await serve(Wiring(settings), services, bootstrap, stop)


def main() -> None:
    """Entry point of the ``amtsweg`` script; a refusal to start is a message, not a trace."""
    try:
        app()
    except REFUSALS as error:
        Console(stderr=True).print(f"[red]amtsweg: {error}[/red]", highlight=False)
        raise SystemExit(2) from None
