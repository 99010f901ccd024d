"""`amtsweg bench pipeline` runs Amtsweg, loads it, and writes its figures (timings unchecked)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from deploy.broker import BOOTSTRAP_ENV, BrokerHandle
from harness.bench import pipeline as bench_pipeline
from services.ops.cli.main import app

SCENARIOS = ["http", "kafka", "http-attachment", "kafka-attachment"]


def test_bench_pipeline_dispatches_every_submission_and_writes_its_figures(
    kafka: BrokerHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BOOTSTRAP_ENV, kafka.bootstrap_servers)  # as an existing cluster
    monkeypatch.setattr(bench_pipeline, "console", Console(width=200))
    out = tmp_path / "bench"
    arguments = ["bench", "pipeline", "--out", str(out), "--scenarios", ",".join(SCENARIOS)]
    arguments += ["--rates", "4", "--large-rates", "3", "--duration", "1", "--warmup", "0"]
    arguments += ["--document-bytes", "0", "--attachment-bytes", "20000"]
    arguments += ["--baseline-seconds", "0.3"]

    result = CliRunner().invoke(app, arguments)

    assert result.exit_code == 0, result.output
    assert "throughput/s" in result.output
    report = json.loads((out / "pipeline.json").read_text(encoding="utf-8"))
    assert [s["key"] for s in report["scenarios"]] == SCENARIOS
    for scenario in report["scenarios"]:
        (step,) = scenario["steps"]
        assert step["offered"] == round(step["rate"] * 1) > 0, scenario["key"]
        assert step["accepted"] == step["dispatched"] == step["offered"], step
        assert step["errors"] == {}, step
        assert step["duplicateEnvelopes"] == 0
        assert step["latencyMs"]["count"] == step["dispatched"]
        assert step["throughput"] > 0
        assert set(step["cpuSeconds"]) == {"amtsweg run", "bench client"}
        assert set(scenario["ratios"]) == {"kafka", "ledger1", "ledger100", "ceiling", "ceilingCpu"}
        assert scenario["ratios"]["ceiling"] > 0
    sizes = {s["key"]: (s["dataBytes"], s["attachmentBytes"]) for s in report["scenarios"]}
    assert sizes["kafka"][1] == 0
    assert sizes["kafka-attachment"][1] == 20000
    assert report["amtsweg"]["layout"] == "single"
    assert report["amtsweg"]["exitCodes"] == {"amtsweg run": 0}
    assert report["amtsweg"]["processes"]["amtsweg run"]["vmHwmMiB"] > 0
    assert report["baselines"]["ledger"]["perTransaction1"]["saved"] > 0
    kafka_sizes = {k["messageBytes"] for k in report["baselines"]["kafka"]}
    assert kafka_sizes == {s["messageBytes"] for s in report["scenarios"]}
    for baseline in report["baselines"]["kafka"]:
        assert baseline["capacity"]["received"] == baseline["capacity"]["sent"] > 0
        assert [s["received"] for s in baseline["steps"]] == [s["sent"] for s in baseline["steps"]]
    ceilings = {c["attachmentBytes"]: c for c in report["baselines"]["ceiling"]}
    assert set(ceilings) == {0, 20000}
    for baseline in ceilings.values():
        assert baseline["capacity"]["received"] == baseline["capacity"]["sent"] > 0
        assert [s["received"] for s in baseline["steps"]] == [s["sent"] for s in baseline["steps"]]
        assert baseline["capacity"]["cpuMsPerMessage"] > 0
    assert "Amtsweg / ceiling" in result.output
    assert report["machine"]["cpus"] >= 1
    assert (out / "pipeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
