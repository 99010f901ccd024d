"""``amtsweg usage``: a month's usage per tenant, state, authority, service or portal, for
splitting the platform's costs among the states that reuse it.

Computed from the ledger alone (see :mod:`services.ops.readmodels.usage.report`), so the
report of a past month is the same whenever it is made. It names the month's bounds in
Europe/Berlin time, the SHA-256 of the tenants file and the directory version it grouped
with: what is needed to make it again. It covers every tenant, so it is for the platform
operator (scope ``*``).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from services.ops.cli import support as out
from services.ops.readmodels.usage.figures import FIGURES
from services.ops.readmodels.usage.month import Month, MonthError
from services.ops.readmodels.usage.report import By, ledger_events, usage_report


def usage(
    month: Annotated[str, typer.Option(help="the month, e.g. 2026-11 (Europe/Berlin)")],
    by: Annotated[By, typer.Option(help="what to group by")] = By.TENANT,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on standard output")] = False,
) -> None:
    """A month's submissions, deliveries, answers and bytes per group, and each group's
    share (of the submissions received) for the cost split."""
    try:
        period = Month.parse(month)
    except MonthError as error:
        raise typer.BadParameter(str(error), param_hint="--month") from None
    wiring = out.wiring()
    scope = out.actor_scope(wiring)
    if not scope.everything:
        raise out.fail(
            f"operator {scope.operator!r} is scoped to {scope.label()}: the usage report "
            "covers every tenant and needs the scope * (AMTSWEG_OPERATOR_SCOPES)",
            2,
        )
    tenants = wiring.tenants()
    logs = [ledger_events(wiring.ledger)]  # one notification log per ledger shard
    report = usage_report(logs, period, by, tenants.tenancy, tenants.state_of)
    about = (
        f"month {period}: {period.start.isoformat()} to {period.end.isoformat()} "
        f"(Europe/Berlin); tenants file SHA-256 {tenants.tenancy.digest or 'none (one tenant)'}"
        f"; {report.events_read} events read"
    )
    if as_csv:
        out.warn(about)  # standard error: standard output is the CSV alone
        typer.echo(report.csv(), nl=False)
        return
    table = Table(title=f"Usage by {by}", caption=about)
    for column in (str(by), *FIGURES, "share %"):
        table.add_column(column, justify="left" if column == str(by) else "right")
    for row in report.rows:
        table.add_row(row.group, *map(str, row.figures), f"{row.share:.2f}")
    table.add_row("total", *map(str, report.totals), "100.00" if report.totals[0] else "0.00")
    out.console.print(table)
