"""``amtsweg bench validation``: documents/s and CPU per document, next to raw lxml.

For each document the full validation decision (hardened parse, schema, XÖV header,
business rules, routing keys) is timed against the raw rate of the same library in the
same run: lxml's ``fromstring`` + ``XMLSchema.validate`` for XML, ``json.loads`` +
``Validator.is_valid`` for JSON. Figures go to the terminal, a JSON file and a PNG plot.
Benchmarks are commands that print figures, never timed assertions in tests.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from lxml import etree
from rich.console import Console
from rich.table import Table

from contracts.assurance import AssuranceLevel, PresentedLevel
from harness.bench import documents as docs
from harness.plots import pyplot
from services.validation.catalog import SchemaCatalog, load_catalog
from services.validation.decide import Declared, Limits, Valid, decide
from services.validation.json_schemas import JsonSchemaChecker
from services.validation.schemas import XsdChecker
from services.validation.settings import ValidationSettings

IDENTIFIED = PresentedLevel(AssuranceLevel.HIGH)
"""The bench's applicant meets every service's assurance level (the happy path)."""

console = Console()

RECEIVED_AT = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    """One document to time."""

    name: str
    leika_key: str
    schema_uri: str
    mime_type: str
    data: bytes


@dataclass(frozen=True)
class Rate:
    """Documents per second (wall clock) and CPU microseconds per document."""

    docs_per_s: float
    cpu_us_per_doc: float
    runs: int


@dataclass(frozen=True)
class Result:
    """Amtsweg's validation and the raw library rate for one case."""

    case: str
    bytes: int
    amtsweg: Rate
    raw: Rate


def cases() -> list[Case]:
    """Small, typical and 5 MB xdomea messages, and a typical application as XML and JSON."""
    xml, json_ = "application/xml", "application/json"
    return [
        Case("xdomea small", docs.XDOMEA_SERVICE, docs.XDOMEA_URI, xml, docs.xdomea_document(0)),
        Case(
            "xdomea typical",
            docs.XDOMEA_SERVICE,
            docs.XDOMEA_URI,
            xml,
            docs.xdomea_document(20_000),
        ),
        Case(
            "xdomea 5 MB",
            docs.XDOMEA_SERVICE,
            docs.XDOMEA_URI,
            xml,
            docs.xdomea_document(5_000_000),
        ),
        Case(
            "Sozialantrag XML",
            docs.BUERGERGELD,
            docs.SOZIALANTRAG_URI,
            xml,
            docs.sozialantrag_document(),
        ),
        Case(
            "Bürgergeld JSON",
            docs.BUERGERGELD,
            docs.BUERGERGELD_JSON_URI,
            json_,
            docs.buergergeld_json_document(),
        ),
    ]


def measure(run: Callable[[], object], min_seconds: float, min_runs: int = 3) -> Rate:
    """Run ``run`` (after one warm-up) until both ``min_seconds`` and ``min_runs`` are met."""
    run()
    runs = 0
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    while runs < min_runs or time.perf_counter() - wall_start < min_seconds:
        run()
        runs += 1
    wall = time.perf_counter() - wall_start
    cpu = time.process_time() - cpu_start
    return Rate(docs_per_s=runs / wall, cpu_us_per_doc=cpu / runs * 1e6, runs=runs)


def amtsweg_run(
    catalog: SchemaCatalog, declared: Declared, data: bytes, limits: Limits
) -> Callable[[], object]:
    """Amtsweg's full validation decision."""
    return lambda: decide(catalog, declared, data, limits)


def raw_run(catalog: SchemaCatalog, case: Case) -> Callable[[], object]:
    """The same library's validation without Amtsweg's layers."""
    entry = catalog.services[case.leika_key].schemas[case.schema_uri]
    checker = entry.checker
    if isinstance(checker, XsdChecker):
        schema, parser = checker.schema, etree.XMLParser()
        return lambda: schema.validate(etree.fromstring(case.data, parser))
    assert isinstance(checker, JsonSchemaChecker)
    validator = checker.validator
    return lambda: validator.is_valid(json.loads(case.data))


def run_bench(catalog: SchemaCatalog, limits: Limits, min_seconds: float) -> list[Result]:
    """Time every case; each must be valid, so the happy path is what is measured."""
    results = []
    for case in cases():
        declared = Declared(
            case.leika_key, case.schema_uri, case.mime_type, RECEIVED_AT, IDENTIFIED
        )
        outcome = decide(catalog, declared, case.data, limits)
        if not isinstance(outcome, Valid):
            msg = f"{case.name}: the benchmark document is not valid: {outcome}"
            raise RuntimeError(msg)  # noqa: TRY004 - the bench's own documents are wrong
        ours = measure(amtsweg_run(catalog, declared, case.data, limits), min_seconds)
        raw = measure(raw_run(catalog, case), min_seconds)
        results.append(Result(case.name, len(case.data), ours, raw))
    return results


def _table(results: list[Result]) -> Table:
    table = Table(title="Validation throughput (one thread)")
    for column in ("document", "size", "Amtsweg docs/s", "CPU µs/doc", "raw docs/s", "raw µs/doc"):
        table.add_column(column, justify="left" if column == "document" else "right")
    table.add_column("overhead", justify="right")
    for r in results:
        table.add_row(
            r.case,
            _size(r.bytes),
            f"{r.amtsweg.docs_per_s:,.1f}",
            f"{r.amtsweg.cpu_us_per_doc:,.0f}",
            f"{r.raw.docs_per_s:,.1f}",
            f"{r.raw.cpu_us_per_doc:,.0f}",
            f"{r.amtsweg.cpu_us_per_doc / r.raw.cpu_us_per_doc:.2f}x",
        )
    return table


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.1f} KB"


def write_plot(results: list[Result], path: Path) -> None:
    """Grouped bars of CPU µs per document (log scale): Amtsweg and raw, per case."""
    plt = pyplot()

    labels = [f"{r.case}\n{_size(r.bytes)}" for r in results]
    positions = range(len(results))
    figure, axes = plt.subplots(figsize=(9, 4.5))
    axes.bar(
        [p - 0.2 for p in positions],
        [r.amtsweg.cpu_us_per_doc for r in results],
        0.4,
        label="Amtsweg (hardened parse, schema, header, rules)",
    )
    axes.bar(
        [p + 0.2 for p in positions],
        [r.raw.cpu_us_per_doc for r in results],
        0.4,
        label="raw library (parse + validate)",
    )
    axes.set_xticks(list(positions), labels, fontsize=8)
    axes.set_yscale("log")
    axes.set_ylabel("CPU µs per document (log)")
    axes.set_title("amtsweg bench validation")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def validation(
    out: Annotated[Path, typer.Option(help="folder for the JSON and PNG results")] = Path(
        "var/bench"
    ),
    seconds: Annotated[float, typer.Option(help="minimum time per measurement")] = 2.0,
) -> None:
    """Time the validation decision against raw lxml / jsonschema; print, save, plot."""
    settings = ValidationSettings()
    catalog = load_catalog(settings.catalog, settings.regions)
    results = run_bench(catalog, settings.limits(), seconds)
    console.print(_table(results))
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "measuredAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "catalogVersion": catalog.version,
        "python": platform.python_version(),
        "lxml": ".".join(map(str, etree.LXML_VERSION)),
        "libxml2": ".".join(map(str, etree.LIBXML_VERSION)),
        "machine": platform.machine(),
        "results": [asdict(result) for result in results],
    }
    (out / "validation.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    write_plot(results, out / "validation.png")
    console.print(f"wrote {out / 'validation.json'} and {out / 'validation.png'}")
