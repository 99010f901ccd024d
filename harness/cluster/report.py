"""What ``amtsweg cluster chaos`` prints beside the chaos report: outages and recovery."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def print_cluster_report(console: Console, report: dict[str, Any]) -> None:
    """The cluster's outages, each child's time back, the topics' replication."""
    outages = Table(title="Outages (seconds from the fault)")
    for column in ("fault", "what", "down", "relay went on after", "back in sync after"):
        outages.add_column(column, justify="left" if column in ("fault", "what") else "right")
    for outage in report["faults"]["outages"]:
        what = (
            f"node {outage['node']} (led {outage['partitionsLed']} of {outage['partitions']})"
            if "node" in outage
            else "stop -m immediate, start"
        )
        outages.add_row(
            f"{outage['target']} at {outage['t']:g} s",
            what,
            _seconds(outage["downSeconds"]),
            _seconds(outage["relayResumedAfter"]),
            _seconds(outage.get("inSyncAfterStart")),
        )
    console.print(outages)
    back = Table(title="Services: SIGKILL until ready again")
    for column in ("process", "kills", "seconds (each)"):
        back.add_column(column, justify="left" if column == "process" else "right")
    for child, seconds in sorted(report["recovery"].items()):
        back.add_row(child, str(len(seconds)), ", ".join(f"{s:g}" for s in seconds))
    console.print(back)
    replication = report["replication"]
    console.print(
        f"replication: {replication['topics']} Amtsweg topics, fewest replicas "
        f"{replication['fewestReplicas']}, partitions under-replicated at the end "
        f"{replication['underReplicated']}",
        soft_wrap=True,
    )


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
