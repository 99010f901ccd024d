"""``amtsweg bench pipeline``: submissions/s and latency through the whole of Amtsweg.

Starts Amtsweg (``amtsweg run``, or one process per service) on a fresh temporary data
dir with the SQLite ledger, on the broker of ``KAFKA_BOOTSTRAP_SERVERS`` or one it
starts itself, or uses a running Amtsweg (``--url`` and ``--bootstrap``). It offers an
open-loop load of xdomea submissions (~20 KB; and with a 1 MB attachment) over HTTP and
over the Kafka intake at rising rates, and measures, next to raw Kafka, the raw ledger
and a ceiling (Amtsweg's hops doing only their work, ``harness.bench.ceiling``) in the
same run, how many reach the authority's topic and how fast. Figures go to the
terminal, ``pipeline.json`` and ``pipeline.png``. See ``harness.bench.steps`` for what
each figure means. A command that prints figures, never a timed assertion in a test.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from deploy.broker import kafka_broker
from harness.bench.processes import AmtswegProcesses, pids_with
from harness.bench.report import (
    baseline_table,
    memory_table,
    process_table,
    ratio_table,
    scenario_table,
    write_plot,
)
from harness.bench.session import (
    Session,
    Target,
    add_ratios,
    machine,
    measure,
    scenarios_for,
)
from services.ops.app.settings import RunSettings

console = Console(width=None if sys.stdout.isatty() else 160)

PORTAL = "bench-portal"


def _floats(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def pipeline(  # noqa: PLR0917 - typer options
    rates: Annotated[str, typer.Option(help="offered rates (submissions/s), 20 KB")] = (
        "10,20,50,100,200,500,1000"
    ),
    large_rates: Annotated[str, typer.Option(help="offered rates with the attachment")] = (
        "2,5,10,20,50"
    ),
    duration: Annotated[float, typer.Option(help="seconds of load per rate")] = 20.0,
    scenarios: Annotated[
        str, typer.Option(help="any of http, kafka, http-attachment, kafka-attachment")
    ] = "http,kafka,http-attachment,kafka-attachment",
    document_bytes: Annotated[int, typer.Option(help="size of the xdomea document")] = 20_000,
    attachment_bytes: Annotated[int, typer.Option(help="size of the attachment")] = 1_000_000,
    out: Annotated[Path, typer.Option(help="folder for pipeline.json and .png")] = Path(
        "var/bench"
    ),
    url: Annotated[
        list[str] | None, typer.Option(help="a running Amtsweg's HTTP intake (repeatable)")
    ] = None,
    bootstrap: Annotated[str | None, typer.Option(help="its Kafka (with --url)")] = None,
    portal: Annotated[str, typer.Option(help="portal id (with --url)")] = PORTAL,
    token: Annotated[str | None, typer.Option(help="that portal's token (with --url)")] = None,
    layout: Annotated[str, typer.Option(help="single (amtsweg run) or per-service")] = "single",
    instances: Annotated[int, typer.Option(help="per-service: members per service")] = 1,
    warmup: Annotated[float, typer.Option(help="seconds of unreported warm-up")] = 3.0,
    drain_timeout: Annotated[float, typer.Option(help="max seconds to wait for outcomes")] = 120.0,
    max_p99_ms: Annotated[float, typer.Option(help="stop raising the rate beyond this")] = 5000.0,
    baseline_seconds: Annotated[float, typer.Option(help="seconds per baseline figure")] = 5.0,
    connections: Annotated[int, typer.Option(help="HTTP keep-alive connections")] = 128,
    log_level: Annotated[str, typer.Option(help="Amtsweg's log level")] = "INFO",
    keep_data: Annotated[bool, typer.Option(help="keep the temporary data dir")] = False,
) -> None:
    """Throughput and latency intake → Dispatched at rising load, next to raw Kafka and ledger."""
    if url and not (bootstrap and token):
        raise typer.BadParameter("--url needs --bootstrap and --token")
    plan = scenarios_for(
        scenarios.split(","), _floats(rates), _floats(large_rates), attachment_bytes
    )
    settings = RunSettings()
    scratch = Path(tempfile.mkdtemp(prefix="amtsweg-bench-"))
    failed = True
    try:
        with _broker(bootstrap, scratch) as (servers, broker_pids):
            token = token or secrets.token_urlsafe(24)
            session = Session(
                bootstrap_servers=servers,
                portal_id=portal,
                plan=plan,
                document_bytes=document_bytes,
                duration=duration,
                warmup=warmup,
                drain_timeout=drain_timeout,
                max_p99_ms=max_p99_ms,
                baseline_seconds=baseline_seconds,
                partitions=settings.topic_partitions,
                connections=connections,
            )
            measured = _against(
                session,
                url,
                token,
                broker_pids,
                scratch=scratch,
                layout=layout if not url else "given",
                instances=instances if not url else 0,
                log_level=log_level,
            )
            console.print(f"baselines on broker {servers} ({baseline_seconds:g} s each)")
            baselines = session.baselines(scratch, measured["scenarios"])
        failed = False
    finally:
        if keep_data or failed:
            console.print(f"data dir kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    _publish(_report(session, measured, baselines), out)


def _against(
    session: Session,
    urls: list[str] | None,
    token: str,
    broker_pids: list[int],
    *,
    scratch: Path,
    layout: str,
    instances: int,
    log_level: str,
) -> dict[str, Any]:
    """Run the scenarios against a given Amtsweg or one started here."""
    extra = {f"broker#{n}": pid for n, pid in enumerate(broker_pids, 1)}
    about = {"layout": layout, "instances": instances}
    if urls:
        return {**measure(session, Target(urls, token, {}, extra)), **about}
    processes = AmtswegProcesses(
        scratch / "amtsweg",
        session.bootstrap_servers,
        {session.portal_id: hashlib.sha256(token.encode()).hexdigest()},
        layout=layout,
        instances=instances,
        log_level=log_level,
    )
    session.prepare_intake_topic()
    console.print(f"starting Amtsweg ({layout}) on {processes.data_dir}")
    try:
        processes.start()
        target = Target(processes.urls, token, processes.pids(), extra)
        measured = measure(session, target)
    finally:
        codes = processes.stop()
    return {**measured, **about, "exitCodes": codes}


def _report(
    session: Session, measured: dict[str, Any], baselines: dict[str, Any]
) -> dict[str, Any]:
    report = {
        "measuredAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": session.describe(),
        "amtsweg": {
            "layout": measured["layout"],
            "instances": measured["instances"],
            "ledger": "as configured there" if measured["layout"] == "given" else "sqlite",
            "processes": measured["processes"],
            "ownProcesses": measured["amtswegProcesses"],
            "exitCodes": measured.get("exitCodes", {}),
        },
        "latency": (
            "from the scheduled send time at the client to the CreateTime of the envelope on "
            "amtsweg.delivery.jobcenter-koeln (set by the relay's producer when it publishes "
            "the Dispatched event); seenLatencyMs: until the bench's consumer read it"
        ),
        "scenarios": measured["scenarios"],
        "baselines": baselines,
    }
    add_ratios(report)
    return report


@contextlib.contextmanager
def _broker(bootstrap: str | None, scratch: Path) -> Iterator[tuple[str, list[int]]]:
    """The given broker, else the chain of ``kafka_broker``; its process ids if local."""
    if bootstrap:
        yield bootstrap, []
        return
    with kafka_broker(scratch / "broker") as handle:
        pids = pids_with(str(handle.local.layout.server_properties)) if handle.local else []
        yield handle.bootstrap_servers, pids


def _publish(report: dict[str, Any], out: Path) -> None:
    console.print(scenario_table(report["scenarios"]))
    console.print(baseline_table(report))
    console.print(ratio_table(report["scenarios"]))
    console.print(process_table(report["amtsweg"]["processes"]))
    console.print(memory_table(report["scenarios"], set(report["amtsweg"]["ownProcesses"])))
    out.mkdir(parents=True, exist_ok=True)
    (out / "pipeline.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    write_plot(report, out / "pipeline.png")
    console.print(f"wrote {out / 'pipeline.json'} and {out / 'pipeline.png'}")
