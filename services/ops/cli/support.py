"""What the operations commands share: the wiring, the broker address, time options, output,
and the access log entry of a read."""

from __future__ import annotations

import dataclasses
import getpass
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from contracts import linear_regex
from events.ledger import SubmissionNotFoundError
from services.ops.actions.access_log import Channel, Read
from services.ops.app.bootstrap import Wiring
from services.ops.app.logs import configure_logging
from services.ops.app.settings import RunSettings, Settings
from services.ops.readmodels.overview.rows import Filters
from services.ops.tenants.scope import OperatorScope, ScopeMissingError

console = Console()
"""Standard output of the commands (tests make it wide)."""

_RELATIVE = linear_regex.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def wiring() -> Wiring:
    """Amtsweg's parts as configured, settings read once (the ledger opens when first used).

    Logs go to standard error, warnings and errors only: a command prints its results.
    """
    configure_logging(level="WARNING")
    return Wiring(Settings.from_environment())


def bootstrap_servers(run: RunSettings) -> str | None:
    """``KAFKA_BOOTSTRAP_SERVERS``, else the broker a local ``amtsweg run`` started."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        return configured
    broker_file = run.broker_file()
    if broker_file.exists():
        return str(json.loads(broker_file.read_text())["bootstrap_servers"])
    return None


def require_broker(run: RunSettings) -> str:
    """The broker's address, or exit 2 with a hint."""
    servers = bootstrap_servers(run)
    if not servers:
        console.print("[red]No broker: set KAFKA_BOOTSTRAP_SERVERS or start `amtsweg run`.[/red]")
        raise typer.Exit(2)
    return servers


def default_actor() -> str:
    """Who an operator action is recorded for: ``AMTSWEG_OPERATOR``, else the login name."""
    return os.environ.get("AMTSWEG_OPERATOR") or getpass.getuser()


def actor_scope(wiring: Wiring, actor: str | None = None) -> OperatorScope:
    """The tenants the operator may see (``actor``, else :func:`default_actor`), from
    ``AMTSWEG_OPERATOR_SCOPES``; exit 2 naming the setting when it needs one and has none."""
    try:
        return wiring.tenants().scope(actor or default_actor())
    except ScopeMissingError as error:
        raise fail(str(error), 2) from None


def require_in_scope(wiring: Wiring, submission_id: UUID, actor: str | None = None) -> None:
    """Exit 1 with ``No submission …`` (as for an unknown one) unless the operator's scope
    holds the submission; an unknown one is left to the command."""
    scope = actor_scope(wiring, actor)
    if scope.everything:
        return
    try:
        submission = wiring.ledger.get_submission(submission_id)
    except SubmissionNotFoundError:
        return
    if not wiring.tenants().sees(scope, submission.portal_id, submission.authority_id):
        raise fail(f"No submission {submission_id}.")


def scoped_filters(wiring: Wiring, filters: Filters, actor: str | None = None) -> Filters:
    """``filters`` narrowed to the operator's tenants."""
    among = wiring.tenants().among(actor_scope(wiring, actor))
    return filters if among is None else dataclasses.replace(filters, among=among)


PurposeOption = Annotated[
    str | None,
    typer.Option(help="why you read this (recorded in the access log; default: not stated)"),
]


def record_read(
    wiring: Wiring, what: Read, purpose: str | None, submission_id: UUID | None = None
) -> None:
    """Append the access log entry of a read, for :func:`default_actor`, before it is shown."""
    log = wiring.access_log()
    try:
        log.record(
            default_actor(),
            what,
            channel=Channel.CLI,
            purpose=purpose,
            submission_id=submission_id,
        )
    finally:
        log.close()


def parse_time(value: str | None) -> float | None:
    """ISO 8601 (UTC when no offset is given) or an age such as ``30m``, ``2h``, ``7d``."""
    if value is None:
        return None
    relative = _RELATIVE.match(value.strip())
    if relative:
        amount, unit = int(relative.group(1)), _UNITS[relative.group(2)]
        return (datetime.now(UTC) - timedelta(**{unit: amount})).timestamp()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is neither ISO 8601 nor an age like 2h") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def iso(epoch: float | None) -> str:
    """Seconds since the epoch as ISO 8601 (UTC, seconds)."""
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def progress(*, quiet: bool = False) -> Progress:
    """A progress bar on standard error, shown only in a terminal (never in ``--json``)."""
    stderr = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,
        disable=quiet or not stderr.is_terminal,
    )


def print_json(value: Any) -> None:
    """JSON on standard output, for scripts."""
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def warn(message: str) -> None:
    """A warning on standard error (standard output stays for ``--json``)."""
    Console(stderr=True).print(f"[yellow]{escape(message)}[/yellow]", soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error and return the exit to raise."""
    console.print(f"[red]{escape(message)}[/red]", soft_wrap=True)
    return typer.Exit(code)
