"""``amtsweg bench scale``: what the work costs as the ledger grows.

For each size (submissions; default 10,000 and 1,000,000) a SQLite ledger in
``<data-dir>/n<size>`` is filled with made-up trails (:mod:`harness.bench.ledger_fill`;
one already there is used as it is), then measured:

- ``amtsweg verify --all``, ``amtsweg rebuild`` and ``amtsweg usage`` (a month in the
  middle), each run as the operator runs it, a process of its own: events in the ledger
  per second of its wall time less the same command's time on an empty ledger (its
  start); linear work gives the same rate at every size;
- the ops API's list and search pages, the intake and the validation and routing stages
  (:mod:`harness.bench.scale_http`), also on an empty ledger for comparison.

Prints the figures, writes ``scale.json`` and ``scale.png`` to ``--out``. Benchmarks
print figures; they assert nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from events.ledger import Ledger
from events.settings import LedgerSettings
from harness.bench.ledger_fill import fill_ledger
from harness.bench.scale_http import measure
from harness.bench.scale_report import plot, tables
from harness.bench.session import machine

console = Console()


def _ledger(data_dir: Path, submissions: int, workers: int) -> dict[str, Any]:
    """Fill the ledger in ``data_dir`` unless it holds events; its size and the fill rate."""
    ledger = Ledger(LedgerSettings(data_dir=data_dir))
    try:
        figures: dict[str, Any] = {}
        if not ledger.recorder.max_notification_id():
            with console.status(f"filling {submissions:,} submissions"):
                filled = fill_ledger(ledger, submissions, workers=workers)
            figures["fill"] = {
                "seconds": round(filled.seconds, 1),
                "eventsPerSecond": round(filled.events_per_second),
            }
        figures["events"] = int(ledger.recorder.max_notification_id() or 0)
    finally:
        ledger.close()
    figures["databaseBytes"] = (data_dir / "ledger.sqlite3").stat().st_size
    return figures


def _environment(data_dir: Path) -> dict[str, str]:
    return os.environ | {
        "AMTSWEG_DEVELOPMENT": "true",
        "AMTSWEG_DATA_DIR": str(data_dir),
        "AMTSWEG_LOG_LEVEL": "WARNING",
        "AMTSWEG_OPERATOR": "bench-operator",
        "AMTSWEG_OPERATOR_SCOPES": json.dumps({"bench-operator": ["*"]}),
    }


def _command(data_dir: Path, events: int, *arguments: str, startup: float = 0.0) -> dict[str, Any]:
    """Run ``amtsweg <arguments>`` on ``data_dir``: its wall time, and events per second of
    that time less ``startup`` (the same command's time on an empty ledger)."""
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - this interpreter, our own CLI
        [sys.executable, "-m", "services.ops.cli", *arguments],
        env=_environment(data_dir),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"amtsweg {' '.join(arguments)}: {done.stderr[-2000:]}")
    return {
        "seconds": round(seconds, 2),
        "eventsPerSecond": round(events / max(seconds - startup, 1e-3)),
        "output": done.stdout[-300:].strip(),
    }


COMMANDS = {
    "verify": ("verify", "--all", "--json"),
    "rebuild": ("rebuild", "--json"),
    "usage": ("usage", "--month", "{month}", "--by", "authority", "--csv"),
}


def _commands(data_dir: Path, events: int, startups: dict[str, float]) -> dict[str, Any]:
    """Each command on the ledger in ``data_dir``."""
    figures = {}
    for name, template in COMMANDS.items():
        arguments = [part.format(month=busiest_month()) for part in template]
        with console.status(f"{data_dir.name}: amtsweg {' '.join(arguments)}"):
            figures[name] = _command(data_dir, events, *arguments, startup=startups.get(name, 0))
    return figures


def busiest_month() -> str:
    """A month in the middle of the fill's twelve (whole, in every time zone)."""
    return (datetime.now(UTC) - timedelta(days=180)).strftime("%Y-%m")


def _size(
    data_dir: Path, submissions: int, repeat: int, workers: int, startups: dict[str, float]
) -> dict[str, Any]:
    figures = {"submissions": submissions, **_ledger(data_dir, submissions, workers)}
    figures |= _commands(data_dir, figures["events"], startups)
    with console.status(f"{submissions:,}: pages, intake and stages"):
        figures |= measure(data_dir, submissions, repeat, arrivals=repeat)
    return figures


def scale_bench(
    sizes: Annotated[
        str, typer.Option(help="ledger sizes in submissions, comma-separated")
    ] = "10000,1000000",
    data_dir: Annotated[
        Path, typer.Option(help="the ledgers go to <data-dir>/n<size> (kept for the next run)")
    ] = Path("var/scale"),
    repeat: Annotated[int, typer.Option(min=5, help="requests per page and arrivals")] = 50,
    workers: Annotated[int, typer.Option(min=1, help="processes that fill a ledger")] = 1,
    out: Annotated[Path, typer.Option(help="folder for scale.json and scale.png")] = Path(
        "var/bench"
    ),
) -> None:
    """verify --all, rebuild and usage throughput, page, intake and stage latency, per size."""
    if os.environ.get("AMTSWEG_LEDGER_URL"):
        raise typer.BadParameter(
            "the scale bench measures SQLite ledgers in --data-dir: unset AMTSWEG_LEDGER_URL "
            "(`amtsweg bench ledger` fills a PostgreSQL one)"
        )
    counts = sorted({int(size.replace("_", "")) for size in sizes.split(",") if size.strip()})
    with tempfile.TemporaryDirectory(prefix="amtsweg-bench-scale-empty-") as empty:
        startups = {k: v["seconds"] for k, v in _commands(Path(empty), 0, {}).items()}
        with console.status("empty ledger: intake and stages"):
            results = [
                {
                    "submissions": 0,
                    "startupSeconds": startups,
                    **measure(Path(empty), 0, repeat, arrivals=repeat),
                }
            ]
        results += [_size(data_dir / f"n{n}", n, repeat, workers, startups) for n in counts]
    for table in tables(results):
        console.print(table)
    report = {
        "measuredAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "usageMonth": busiest_month(),
        "sizes": results,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    plot(results, out / "scale.png")
    console.print(f"wrote {out / 'scale.json'} and {out / 'scale.png'}")
