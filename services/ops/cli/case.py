"""``amtsweg case show``: a case on one timeline, for operations.

The case's submissions, its requests for documents and where they stand, and every event
of its submissions merged by time: receipt, validation, routing, deliveries and follow-up
deliveries, receipts, replies, overdue requests, supplements, callbacks to the portal,
erasure. Ids, kinds, states and deadlines only, never content. Showing a case adds one
access log entry for each of its submissions (``--purpose`` says why).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from services.ops.actions.access_log import Read
from services.ops.cli import support as out
from services.ops.readmodels.case_timeline import CaseNotFoundError, CaseView, load_case

case_app = typer.Typer(
    help="A case: its submissions, replies and supplements.", no_args_is_help=True
)

WIDTH = 100
"""The timeline fits this many columns (or the terminal, when it is narrower)."""


def _zone(name: str) -> tzinfo:
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(f"unknown time zone {name!r} (e.g. UTC, Europe/Berlin)") from None


def local_time(iso: str, zone: tzinfo, *, named: bool = True) -> str:
    """An ISO 8601 time in ``zone``, to the second (``named``: with the zone's abbreviation)."""
    moment = datetime.fromisoformat(iso).astimezone(zone)
    shown = f"{moment:%Y-%m-%d %H:%M:%S}"
    return f"{shown} {moment.tzname()}" if named else shown


@case_app.command("show")
def show(
    reference: Annotated[UUID, typer.Argument(help="the case id, or one of its submissions' ids")],
    zone: Annotated[str, typer.Option(help="show times in this zone (IANA name)")] = "UTC",
    purpose: out.PurposeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """A case on one timeline: time, event, who, details."""
    shown_in = _zone(zone)
    wiring = out.wiring()
    scope = out.actor_scope(wiring)
    tenants = wiring.tenants()
    ledger = wiring.ledger
    try:
        case = load_case(
            ledger,
            wiring.overview(),
            reference,
            lambda s: tenants.sees(scope, s.portal_id, s.authority_id),
        )
        for submission in case.submissions:
            out.record_read(wiring, Read.CASE, purpose, UUID(submission.submission_id))
    except CaseNotFoundError:
        raise out.fail(f"No case or submission {reference}") from None
    finally:
        ledger.close()
    if as_json:
        out.print_json(case.as_json())
        return
    print_case(case, shown_in, zone)


def print_case(case: CaseView, zone: tzinfo, zone_name: str = "UTC") -> None:
    """The case as text: its submissions, its requests, then the timeline as a table."""
    width = min(out.console.width, WIDTH)
    out.console.print(f"[b]Case {case.case_id}[/b]", soft_wrap=True)
    numbers = {s.submission_id: str(n) for n, s in enumerate(case.submissions, start=1)}
    for submission in case.submissions:
        deliveries = ", ".join(submission.deliveries) or "none"
        erased = ", content erased" if submission.content_erased else ""
        out.console.print(
            f"  {numbers[submission.submission_id]}. submission {submission.submission_id}: "
            f"{submission.status}{erased}\n     portal {submission.portal_id} → "
            f"{submission.authority_id or '-'}; deliveries {deliveries}",
            highlight=False,
            width=width,
        )
    for request in case.requests:
        answered = f" by supplement {request.answered_by}" if request.answered_by else ""
        due = local_time(request.due, zone) if request.due else "-"
        out.console.print(
            f"  request {request.reply_id} due {due}: {request.state}{answered}",
            highlight=False,
            width=width,
        )
    several = len(case.submissions) > 1
    table = Table(box=box.SIMPLE_HEAD, padding=0, pad_edge=False, expand=True)
    if several:
        table.add_column("#", no_wrap=True)
    table.add_column(f"time ({zone_name})", no_wrap=True)
    table.add_column("event", no_wrap=True)
    table.add_column("who", overflow="fold", max_width=16)
    table.add_column("details", overflow="fold", ratio=1)
    for entry in case.timeline:
        cells = [
            local_time(entry.time, zone, named=False),
            entry.event,
            escape(entry.actor),
            escape(entry.details),
        ]
        table.add_row(*([numbers[entry.submission_id], *cells] if several else cells))
    out.console.print(table, width=width)
