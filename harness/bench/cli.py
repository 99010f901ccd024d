"""The ``amtsweg bench`` command group (registered through the ``amtsweg.cli`` entry point)."""

from __future__ import annotations

import typer

from harness.bench.fitconnect import fit_connect_bench
from harness.bench.ledger_fill import ledger_bench
from harness.bench.parsing import parsing
from harness.bench.pipeline import pipeline
from harness.bench.routing import routing
from harness.bench.scale import scale_bench
from harness.bench.tokens import tokens_bench
from harness.bench.validation import validation
from harness.bench.validations import validations_bench

bench_app = typer.Typer(
    help="Benchmarks: print figures, write JSON and a plot.", no_args_is_help=True
)
bench_app.command("validation")(validation)
bench_app.command("pipeline")(pipeline)
bench_app.command("routing")(routing)
bench_app.command("parsing")(parsing)
bench_app.command("tokens")(tokens_bench)
bench_app.command("fit-connect")(fit_connect_bench)
bench_app.command("validations")(validations_bench)
bench_app.command("ledger")(ledger_bench)
bench_app.command("scale")(scale_bench)


def register(app: typer.Typer) -> None:
    """Add ``bench`` to the ``amtsweg`` command."""
    app.add_typer(bench_app, name="bench")
