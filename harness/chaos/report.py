"""What ``amtsweg chaos`` prints: the load, the faults per service, and the checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

Printer = Callable[[Console, dict[str, Any]], None]


def finish(console: Console, report: dict[str, Any], *printers: Printer, as_json: bool) -> None:
    """Print ``report`` as JSON or through ``printers``; exit 1 when its checks failed."""
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        for printer in printers:
            printer(console, report)
    if not report["checks"]["ok"]:
        raise typer.Exit(1)


def print_report(console: Console, report: dict[str, Any]) -> None:
    """The three tables and the verdict line."""
    console.print(_load_table(report["load"]))
    for label, counts in (("retried", "retries"), ("refused", "refused"), ("gave up", "gaveUp")):
        if report["load"][counts]:
            reasons = ", ".join(f"{k}: {v}" for k, v in sorted(report["load"][counts].items()))
            console.print(f"{label}: {reasons}", soft_wrap=True)
    console.print(_faults_table(report["faults"]))
    if report["faults"]["brokerRestarts"] or not report["faults"].get("outages"):
        console.print(_broker_line(report["faults"]), soft_wrap=True)
    console.print(_checks_table(report))
    checks = report["checks"]
    if checks["ok"]:
        console.print(f"[green]OK[/green]: nothing lost, no violation (seed {report['seed']})")
    else:
        console.print(
            f"[red]FAILED[/red]: lost {checks['lost']}, violations {checks['violations']} "
            f"(seed {report['seed']}; data dir kept: {report.get('dataDir')})",
            soft_wrap=True,
        )
        for name, ids in checks["examples"].items():
            console.print(f"  {name}: {ids}", soft_wrap=True)


def _load_table(load: dict[str, Any]) -> Table:
    table = Table(title=f"Load: {load['rate']:g}/s for {load['duration']:g} s (open loop)")
    for column in ("channel", "offered", "accepted", "refused", "gave up", "retries"):
        table.add_column(column, justify="left" if column == "channel" else "right")
    for name, figures in load["channels"].items():
        table.add_row(
            name,
            str(figures["offered"]),
            str(figures["accepted"]),
            str(figures["refused"]),
            str(figures["gaveUp"]),
            str(figures["retries"]),
        )
    table.add_row(
        "all",
        str(load["offered"]),
        str(load["accepted"]),
        str(sum(load["refused"].values())),
        str(sum(load["gaveUp"].values())),
        str(sum(load["retries"].values())),
    )
    return table


def _faults_table(faults: dict[str, Any]) -> Table:
    table = Table(title="Faults")
    for column in ("process", "SIGKILLs", "restarts", "crashes", "failed starts"):
        table.add_column(column, justify="left" if column == "process" else "right")
    for name, figures in faults["perService"].items():
        table.add_row(
            name,
            str(figures["kills"]),
            str(figures["restarts"]),
            str(figures["crashes"]),
            str(figures["failedStarts"]),
        )
    return table


def _broker_line(faults: dict[str, Any]) -> str:
    if skipped := faults["brokerRestartSkipped"]:
        return f"broker: restart skipped: {skipped}"
    down = ", ".join(f"{s:g} s" for s in faults["brokerDownSeconds"])
    return f"broker: {faults['brokerRestarts']} restart(s)" + (f", down {down}" if down else "")


def _checks_table(report: dict[str, Any]) -> Table:
    checks = report["checks"]
    quiet = report["quiet"]
    table = Table(title="Checks (ledger and Kafka topics, read directly)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("quiet after load", f"{'yes' if quiet['reached'] else 'NO'} ({quiet['seconds']:g} s)"),
        ("offered", report["load"]["offered"]),
        ("accepted", checks["accepted"]),
        ("in ledger (not seen accepted)", f"{checks['inLedger']} ({checks['unacceptedInLedger']})"),
        ("dispatched", checks["dispatched"]),
        ("rejected / unroutable", f"{checks['rejected']} / {checks['unroutable']}"),
        ("duplicate deliveries (same id)", checks["duplicates"]),
        ("different deliveries (violation)", checks["differentDeliveries"]),
        (
            "undelivered / stray deliveries",
            f"{checks['undelivered']} / {checks['strayDeliveries']}",
        ),
        ("more than one end state", checks["multipleTerminal"]),
        ("wrong outcome", checks["wrongOutcomes"]),
        ("trails broken", checks["brokenTrails"]),
        ("relay lag (events)", checks["relayLag"]),
        ("intake dead letters", report["intakeDeadLetters"]),
        (
            "lost (missing / unfinished)",
            f"{checks['lost']} ({checks['missing']} / {checks['unfinished']})",
        ),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    return table
