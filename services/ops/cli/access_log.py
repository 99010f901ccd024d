"""``amtsweg access-log``: who read which submission, what, why and when.

For operations and the data protection officer. Reading the log is recorded in it too
(``what`` is ``access-log``).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import typer
from rich.markup import escape
from rich.table import Table

from services.ops.actions.access_log import AccessQuery, Read
from services.ops.cli import support as out


def access_log(  # noqa: PLR0917 - typer options
    submission: Annotated[UUID | None, typer.Option(help="entries of this submission")] = None,
    operator: Annotated[str | None, typer.Option(help="entries of this operator")] = None,
    since: Annotated[str | None, typer.Option(help="at or after: ISO 8601 or 7d")] = None,
    until: Annotated[str | None, typer.Option(help="before: ISO 8601 or 1h")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="newest first")] = 100,
    purpose: out.PurposeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Who read which submission, what and why (the access log), newest first."""
    query = AccessQuery(
        None if submission is None else str(submission),
        operator,
        out.parse_time(since),
        out.parse_time(until),
        limit,
    )
    wiring = out.wiring()
    log = wiring.access_log()
    try:
        entries = log.entries(query)
    finally:
        log.close()
    out.record_read(wiring, Read.ACCESS_LOG, purpose, submission)
    if as_json:
        out.print_json([entry.as_json() for entry in entries])
        return
    table = Table(title=f"Access log ({len(entries)})")
    for column in ("at", "operator", "submission", "what", "purpose", "channel"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(
            out.iso(entry.at),
            escape(entry.operator),
            entry.submission_id or "",
            entry.what,
            escape(entry.purpose),
            entry.channel,
        )
    out.console.print(table)
