"""``amtsweg bench parsing``: the time of each hostile input shape at growing sizes.

For every shape of :mod:`harness.bench.hostile` and every size (10 KB, 100 KB, 1 MB by
default), the median time of a few runs, and the time per KB: a flat column is linear
growth, a column that grows tenfold per step is quadratic. Figures go to the terminal,
a JSON file and, with the harness extra (matplotlib), a log-log plot. Benchmarks print
figures; they assert nothing.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from harness.bench.hostile import SHAPES, SIZES, Shape
from harness.plots import pyplot

console = Console()


@dataclass(frozen=True)
class ParsingTime:
    """The median time of one shape at one size, and what the input got."""

    shape: str
    size_bytes: int
    median_ms: float
    us_per_kb: float
    outcome: str


def measure_shape(shape: Shape, size: int, repeats: int) -> ParsingTime:
    """Build the input once, run it ``repeats`` times, keep the median."""
    data = shape.build(size)
    times = []
    outcome = ""
    for _ in range(repeats):
        started = time.perf_counter()
        outcome = shape.run(data)
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    return ParsingTime(shape.name, size, median * 1e3, median * 1e6 / (size / 1000), outcome)


def _table(results: list[ParsingTime]) -> Table:
    table = Table(title="Hostile inputs: time per size (flat µs/KB = linear)")
    for column in ("shape", "size", "median ms", "µs/KB", "outcome"):
        table.add_column(column, justify="left" if column in ("shape", "outcome") else "right")
    for r in results:
        table.add_row(
            r.shape, f"{r.size_bytes:,}", f"{r.median_ms:,.2f}", f"{r.us_per_kb:,.2f}", r.outcome
        )
    return table


def _plot(results: list[ParsingTime], path: Path) -> None:
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(8, 5))
    for shape in dict.fromkeys(r.shape for r in results):
        points = [r for r in results if r.shape == shape]
        axes.plot([p.size_bytes for p in points], [p.median_ms for p in points], "o-", label=shape)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("input size (bytes)")
    axes.set_ylabel("median time (ms)")
    axes.set_title("Hostile inputs: a slope of 1 is linear, 2 quadratic")
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def parsing(
    out: Annotated[Path, typer.Option(help="folder for the JSON result")] = Path("var/bench"),
    repeats: Annotated[int, typer.Option(min=1, help="runs per shape and size")] = 5,
    sizes: Annotated[
        list[int] | None, typer.Option("--size", help="input sizes in bytes (repeatable)")
    ] = None,
) -> None:
    """Time every hostile input shape at each size; print, save JSON and a plot."""
    chosen = tuple(sizes) if sizes else SIZES
    results = [measure_shape(s, size, repeats) for s in SHAPES for size in chosen]
    console.print(_table(results))
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "measuredAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "repeats": repeats,
        "results": [asdict(result) for result in results],
    }
    path = out / "parsing.json"
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    console.print(f"wrote {path}")
    if importlib.util.find_spec("matplotlib") is not None:
        plot = out / "parsing.png"
        _plot(results, plot)
        console.print(f"wrote {plot}")
