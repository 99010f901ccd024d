"""The ``amtsweg`` command line (typer + rich)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from typing import Annotated
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table

from deploy.broker import kafka_broker
from events.ledger import Ledger, SubmissionNotFoundError
from events.relay_store import relay_store
from events.settings import LedgerSettings
from services.intake.settings import IntakeSettings
from services.ops.authority_cli import authority_app, deliveries
from services.ops.bench import bench_app
from services.ops.bootstrap import SERVICES
from services.ops.dev_portal import ensure_dev_portal
from services.ops.logs import configure_logging
from services.ops.runner import install_stop_signals, serve
from services.ops.settings import RunSettings
from services.ops.verify import verify_submission

app = typer.Typer(
    help="Amtsweg: submission backbone for German e-government.", no_args_is_help=True
)
events_app = typer.Typer(help="Inspect a submission's event log.", no_args_is_help=True)
app.add_typer(events_app, name="events")
app.add_typer(authority_app, name="authority")
app.add_typer(bench_app, name="bench")
app.command("deliveries")(deliveries)
console = Console()


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


def _ledger() -> Ledger:
    return Ledger(LedgerSettings())


@events_app.command("show")
def events_show(
    submission_id: UUID,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Print a submission's trail."""
    ledger = _ledger()
    try:
        trail = ledger.trail(submission_id)
    except SubmissionNotFoundError:
        console.print(f"[red]No submission {submission_id}[/red]")
        raise typer.Exit(1) from None
    finally:
        ledger.close()
    if as_json:
        typer.echo(json.dumps([entry.__dict__ for entry in trail], indent=2, ensure_ascii=False))
        return
    table = Table(title=f"Submission {submission_id}")
    for column in ("#", "time", "event", "details", "hash"):
        table.add_column(column)
    for entry in trail:
        details = ", ".join(
            f"{k}={v}" for k, v in entry.data.items() if isinstance(v, str | int) and v != ""
        )
        table.add_row(str(entry.version), entry.timestamp, entry.event, details, entry.hash[:12])
    console.print(table)


@app.command()
def verify(
    submission_id: Annotated[UUID | None, typer.Argument()] = None,
    all_: Annotated[bool, typer.Option("--all", help="verify every submission")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check hash chains; exit code 1 on any break."""
    if (submission_id is None) == (not all_):
        raise typer.BadParameter("give a submission id or --all")
    ledger = _ledger()
    store = relay_store(ledger.settings)
    ids = list(ledger.submission_ids()) if all_ else [submission_id]
    broken = []
    try:
        for current in ids:
            assert current is not None
            try:
                problem = verify_submission(ledger, store, current)
            except SubmissionNotFoundError:
                problem = "no such submission"
            if problem is not None:
                broken.append({"submissionId": str(current), "problem": problem})
    finally:
        ledger.close()
    if as_json:
        typer.echo(json.dumps({"checked": len(ids), "broken": broken}, indent=2))
    else:
        for item in broken:
            console.print(f"[red]BROKEN[/red] {item['submissionId']}: {item['problem']}")
        console.print(f"checked {len(ids)} submission(s), {len(broken)} broken")
    if broken:
        raise typer.Exit(1)


def main() -> None:
    """Entry point of the ``amtsweg`` script."""
    app()


if __name__ == "__main__":
    main()
