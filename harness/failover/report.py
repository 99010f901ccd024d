"""The failover run's figures as a table."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def print_report(console: Console, report: dict[str, Any]) -> None:
    """Takeover times per singleton, then what was published and the checks."""
    table = Table(title=f"failover on {report['ledger']} (lease {report['leaseSeconds']:g} s)")
    for column in ("singleton", "kills", "min s", "median s", "max s", "measured"):
        table.add_column(column)
    measured = {
        "relay": "SIGKILL → standby's first publish",
        "notifier": "SIGKILL → standby's new term",
    }
    for singleton, figures in report.get("takeovers", {}).items():
        if figures["count"] == 0:
            continue
        table.add_row(
            singleton,
            str(figures["count"]),
            f"{figures['min']:.3f}",
            f"{figures['median']:.3f}",
            f"{figures['max']:.3f}",
            measured.get(singleton, ""),
        )
    console.print(table)
    checks = report.get("checks", {})
    console.print(
        f"submissions {report.get('submissions', 0)}, records {report.get('records', 0)} "
        f"({report.get('republished', 0)} republished with the same content); "
        f"lost {checks.get('lost')}, conflicting {checks.get('conflicting')}, "
        f"newer term at every takeover {checks.get('newerTerms')}"
    )
    console.print("[green]ok[/green]" if checks.get("ok") else "[red]FAILED[/red]")
