"""Figures of ``amtsweg bench scale``: the rich tables and the plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from harness.plots import pyplot

COMMANDS = ("verify", "rebuild", "usage")


def tables(results: list[dict[str, Any]]) -> list[Table]:
    """Throughput per command, latency per page, latency of the way in, per size."""
    sized = [r for r in results if r["submissions"]]
    throughput = Table(title="Commands on the whole ledger: events per second of wall time")
    for column in ("submissions", "events", "fill ev/s", *(f"{c} ev/s" for c in COMMANDS)):
        throughput.add_column(column, justify="right")
    for result in sized:
        fill = result.get("fill", {}).get("eventsPerSecond")
        throughput.add_row(
            f"{result['submissions']:,}",
            f"{result['events']:,}",
            f"{fill:,}" if fill else "(kept)",
            *(
                f"{result[c]['eventsPerSecond']:,} ({result[c]['seconds']:,.0f} s)"
                for c in COMMANDS
            ),
        )
    pages = Table(title="Ops API pages: p50 / p99 ms")
    pages.add_column("page")
    for result in sized:
        pages.add_column(f"{result['submissions']:,}", justify="right")
    for name in sized[0]["pages"] if sized else ():
        cells = [_cell(r["pages"][name]) for r in sized]
        pages.add_row(name, *cells)
    way_in = Table(title="A submission's way in: p50 / p99 ms")
    way_in.add_column("step")
    for result in results:
        way_in.add_column(f"{result['submissions']:,}" if result["submissions"] else "empty")
    for name in results[0]["wayIn"]:
        way_in.add_row(name, *(_cell(r["wayIn"][name]) for r in results))
    return [throughput, pages, way_in]


def _cell(figures: dict[str, Any]) -> str:
    return f"{figures['p50Ms']:,.1f} / {figures['p99Ms']:,.1f}"


def plot(results: list[dict[str, Any]], path: Path) -> None:
    """Throughput against size (left), page p99 against size (right)."""
    sized = [r for r in results if r["submissions"]]
    plt = pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    sizes = [r["submissions"] for r in sized]
    for command in COMMANDS:
        left.plot(sizes, [r[command]["eventsPerSecond"] for r in sized], marker="o", label=command)
    left.set_xscale("log")
    left.set_xlabel("submissions in the ledger")
    left.set_ylabel("events per second")
    left.set_ylim(bottom=0)
    left.set_title("Whole-ledger commands (flat: linear)")
    left.legend()
    for name in sized[0]["pages"] if sized else ():
        right.plot(sizes, [r["pages"][name]["p99Ms"] for r in sized], marker="o", label=name)
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("submissions in the ledger")
    right.set_ylabel("p99 ms")
    right.set_title("Ops API pages (flat: bounded)")
    right.legend(fontsize="x-small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
