"""``amtsweg bench routing``: resolutions per second over the national directory.

Cases, each cycling through every key of the official list and every service of the
directory: ``route`` on a 12-digit ARS (the index: at most five lookups), the whole
decision from an ARS, an AGS and a postal code hint (with the key-list checks), and, for
comparison, a linear scan over all competences, which is what the index replaces.
Figures go to the terminal and a JSON file. Benchmarks print figures; they assert nothing.
"""

from __future__ import annotations

import itertools
import json
import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from harness.bench.validation import measure
from services.routing.context import RoutingContext, Sources, build_context
from services.routing.decision import decide
from services.routing.directory import Directory
from services.routing.regions import ags_of
from services.routing.resolve import route
from services.routing.settings import RoutingSettings

console = Console()
BATCH = 1000
"""Resolutions per timed call (so the timer's own cost does not count)."""


@dataclass(frozen=True)
class RoutingRate:
    """Resolutions per second (wall clock) and CPU microseconds per resolution."""

    case: str
    resolutions_per_s: float
    cpu_us_per_resolution: float
    resolutions: int


def _scan(directory: Directory, service: str, ars: str) -> str | None:
    """The same decision without the index: every competence is looked at."""
    best = None
    for competence in directory.competences:
        matches = service in competence.services and ars.startswith(competence.area)
        if matches and (best is None or len(competence.area) > len(best.area)):
            best = competence
    return best.authority if best else None


def cases(context: RoutingContext) -> dict[str, Callable[[], object]]:
    """Each case as a function that resolves the next ``BATCH`` inputs."""
    keys = context.regions.codes()
    services = sorted(context.directory.services)
    pairs = list(itertools.product(services, keys))
    postcodes = context.postcodes.codes()
    directory = context.directory

    def batch(
        inputs: list[tuple[str, str]], resolve: Callable[[str, str], object]
    ) -> Callable[[], object]:
        cycle = itertools.cycle(inputs)
        return lambda: [resolve(*next(cycle)) for _ in range(BATCH)]

    return {
        "route(ARS), index": batch(pairs, lambda s, a: route(directory, s, a)),
        "decide(ARS hint)": batch(pairs, lambda s, a: decide(context, s, {"ars": a})),
        "decide(AGS hint)": batch(pairs, lambda s, a: decide(context, s, {"ags": ags_of(a)})),
        "decide(postal code)": batch(
            list(itertools.product(services, postcodes)),
            lambda s, p: decide(context, s, {"postalCode": p}),
        ),
        "linear scan (no index)": batch(pairs, lambda s, a: _scan(directory, s, a)),
    }


def run_bench(context: RoutingContext, seconds: float) -> list[RoutingRate]:
    """Time every case for about ``seconds`` each."""
    results = []
    for name, run in cases(context).items():
        rate = measure(run, seconds)
        results.append(
            RoutingRate(
                name,
                rate.docs_per_s * BATCH,
                rate.cpu_us_per_doc / BATCH,
                rate.runs * BATCH,
            )
        )
    return results


def _table(context: RoutingContext, results: list[RoutingRate]) -> Table:
    directory = context.directory
    table = Table(
        title=(
            f"Routing over {directory.version}: {len(directory.authorities)} authorities, "
            f"{len(directory.competences)} competences, {len(context.regions)} keys"
        )
    )
    for column in ("case", "resolutions/s", "CPU µs/resolution", "resolutions"):
        table.add_column(column, justify="left" if column == "case" else "right")
    for r in results:
        table.add_row(
            r.case,
            f"{r.resolutions_per_s:,.0f}",
            f"{r.cpu_us_per_resolution:,.1f}",
            f"{r.resolutions:,}",
        )
    return table


def routing(
    out: Annotated[Path, typer.Option(help="folder for the JSON result")] = Path("var/bench"),
    seconds: Annotated[float, typer.Option(help="minimum time per case")] = 2.0,
) -> None:
    """Resolutions/s over the national directory (index vs. scan); print and save."""
    settings = RoutingSettings()
    context = build_context(Sources.read(settings.directory, settings.regions, settings.postcodes))
    results = run_bench(context, seconds)
    console.print(_table(context, results))
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "measuredAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "directoryVersion": context.version,
        "authorities": len(context.directory.authorities),
        "competences": len(context.directory.competences),
        "regionKeys": len(context.regions),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "results": [asdict(result) for result in results],
    }
    path = out / "routing.json"
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    console.print(f"wrote {path}")
