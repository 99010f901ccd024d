"""`amtsweg bench validation` runs, prints a table, writes JSON and a PNG (timings unchecked)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from harness.bench import validation as bench
from services.ops.cli.main import app
from services.validation.decide import Declared, Valid, decide
from tests.support.validation import bundled_catalog


def test_bench_validation_prints_and_writes_its_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "console", Console(width=200))
    out = tmp_path / "bench"

    result = CliRunner().invoke(app, ["bench", "validation", "--out", str(out), "--seconds", "0"])

    assert result.exit_code == 0, result.output
    assert "xdomea 5 MB" in result.output
    assert "raw docs/s" in result.output
    report = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    assert [r["case"] for r in report["results"]] == [
        "xdomea small",
        "xdomea typical",
        "xdomea 5 MB",
        "Sozialantrag XML",
        "Bürgergeld JSON",
    ]
    sizes = {r["case"]: r["bytes"] for r in report["results"]}
    assert sizes["xdomea small"] < 5_000
    assert 18_000 < sizes["xdomea typical"] < 25_000
    assert 5_000_000 <= sizes["xdomea 5 MB"] < 5_100_000
    for result_ in report["results"]:
        for side in ("amtsweg", "raw"):
            assert result_[side]["runs"] >= 3
            assert result_[side]["docs_per_s"] > 0
            assert result_[side]["cpu_us_per_doc"] >= 0
    assert report["catalogVersion"].startswith("2026.11+")
    assert (out / "validation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_bench_document_is_valid() -> None:
    """The bench measures the happy path only; run_bench refuses a document that is not."""
    catalog = bundled_catalog()

    for case in bench.cases():
        declared = Declared(
            case.leika_key, case.schema_uri, case.mime_type, bench.RECEIVED_AT, bench.IDENTIFIED
        )
        assert isinstance(decide(catalog, declared, case.data), Valid), case.name


def test_bench_fit_connect_sends_both_ways_and_writes_its_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.bench import fitconnect  # noqa: PLC0415 - only this test needs it

    monkeypatch.setattr(fitconnect, "console", Console(width=200))
    out = tmp_path / "bench"
    arguments = ["bench", "fit-connect", "--count", "3", "--warmup", "1"]

    result = CliRunner().invoke(
        app, [*arguments, "--attachment-bytes", "100000", "--out", str(out)]
    )

    assert result.exit_code == 0, result.output
    assert "FIT-Connect / native" in result.output
    report = json.loads((out / "fit-connect.json").read_text(encoding="utf-8"))
    assert {path["n"] for path in report["paths"].values()} == {3}
    assert set(report["fitConnectStepsP50Ms"]) == {"token", "announce", "attachment", "submit"}
    assert (out / "fit-connect.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_validations_times_both_paths_and_writes_its_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.bench import validations  # noqa: PLC0415 - only this test needs it

    monkeypatch.setattr(validations, "console", Console(width=200))
    out = tmp_path / "bench"

    result = CliRunner().invoke(
        app, ["bench", "validations", "--count", "3", "--warmup", "1", "--out", str(out)]
    )

    assert result.exit_code == 0, result.output
    report = json.loads((out / "validations.json").read_text(encoding="utf-8"))
    assert {path: figures["n"] for path, figures in report["paths"].items()} == {
        "/v1/validations": 3,
        "/v1/submissions": 3,
    }
    assert (out / "validations.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
