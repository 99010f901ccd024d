"""``amtsweg bench validations``: ``POST /v1/validations`` as a portal calls it on every
form step — latency per request for one document (20 KB by default), next to the intake
(``POST /v1/submissions``, the same document) in the same run, alternating one by one.

The app is the one ``amtsweg run`` serves, in this process (:mod:`harness.bench.inprocess`);
figures include the client's side of httpx. Benchmarks print figures; they assert nothing.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from harness.bench.inprocess import InProcess, http_app, percentile
from harness.bench.payloads import ROUTING, BenchSubmission, Payloads, multipart
from harness.bench.session import machine
from harness.plots import pyplot

console = Console()


def _summary(wall_ms: list[float], cpu_ms: list[float]) -> dict[str, float]:
    return {
        "n": len(wall_ms),
        "p50Ms": statistics.median(wall_ms),
        "p90Ms": percentile(wall_ms, 0.90),
        "p99Ms": percentile(wall_ms, 0.99),
        "maxMs": max(wall_ms),
        "cpuMs": statistics.fmean(cpu_ms),
    }


async def _post(app: InProcess, path: str, submission: BenchSubmission, status: int) -> None:
    content_type, chunks = multipart(submission)
    answer = await app.http.post(
        path,
        content=b"".join(chunks),
        headers=app.auth() | {"Content-Type": content_type, "Idempotency-Key": submission.key},
    )
    if answer.status_code != status:
        raise RuntimeError(f"POST {path}: {answer.status_code} {answer.text[:300]}")
    if path == "/v1/validations" and answer.json()["routing"]["outcome"] != "routed":
        raise RuntimeError(f"the bench document did not route: {answer.text[:300]}")


async def _run(
    payloads: Payloads, count: int, warmup: int, scratch: Path
) -> dict[str, dict[str, list[float]]]:
    paths = {"/v1/validations": 200, "/v1/submissions": 202}
    figures: dict[str, dict[str, list[float]]] = {p: {"wall": [], "cpu": []} for p in paths}
    async with http_app(scratch) as app:
        for n in range(warmup + count):
            order = list(paths.items())[:: -1 if n % 2 else 1]
            for path, status in order:
                submission = payloads.build(f"{path}-{n}-{secrets.token_hex(4)}")
                wall, cpu = time.perf_counter(), time.process_time()
                await _post(app, path, submission, status)
                if n >= warmup:
                    figures[path]["cpu"].append((time.process_time() - cpu) * 1000)
                    figures[path]["wall"].append((time.perf_counter() - wall) * 1000)
    return figures


def validations_bench(
    count: Annotated[int, typer.Option(help="requests per path")] = 500,
    warmup: Annotated[int, typer.Option(help="unreported requests per path first")] = 20,
    document_bytes: Annotated[int, typer.Option(help="size of the xdomea document")] = 20_000,
    out: Annotated[Path, typer.Option(help="folder for validations.json and .png")] = Path(
        "var/bench"
    ),
) -> None:
    """Latency of POST /v1/validations, one request after another, next to the intake."""
    payloads = Payloads(document_bytes, 0)
    scratch = Path(tempfile.mkdtemp(prefix="amtsweg-bench-validations-"))
    try:
        figures = asyncio.run(_run(payloads, count, warmup, scratch))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    summaries = {path: _summary(f["wall"], f["cpu"]) for path, f in figures.items()}
    about = machine()
    table = Table(
        title=f"{len(payloads.document) / 1000:.1f} KB xdomea, in-process ASGI, "
        f"{about['cpus']} cores, Köln hint (validated and routed)"
    )
    for column in ("POST", "n", "p50 ms", "p90 ms", "p99 ms", "max ms", "CPU ms each"):
        table.add_column(column, justify="left" if column == "POST" else "right")
    for path, summary in summaries.items():
        table.add_row(
            path,
            str(summary["n"]),
            *(f"{summary[k]:.2f}" for k in ("p50Ms", "p90Ms", "p99Ms", "maxMs", "cpuMs")),
        )
    console.print(table)
    report: dict[str, Any] = {
        "measuredAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": about,
        "documentBytes": len(payloads.document),
        "routing": ROUTING,
        "paths": summaries,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "validations.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(8, 4.5))
    axes.boxplot([f["wall"] for f in figures.values()], showfliers=True)
    axes.set_xticks(range(1, len(figures) + 1), list(figures))
    axes.set_ylabel("ms per request")
    axes.set_title("POST /v1/validations against the intake, same document")
    figure.tight_layout()
    figure.savefig(out / "validations.png", dpi=110)
    plt.close(figure)
    console.print(f"wrote {out / 'validations.json'} and {out / 'validations.png'}")
