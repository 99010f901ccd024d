"""``amtsweg route explain``, ``directory check``, ``triage list|assign`` and ``bench routing``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from events.ledger import Ledger
from harness.bench.routing import run_bench
from services.ops.cli import routing as routing_cli
from services.ops.cli.main import app
from tests.support.factories import new_submission
from tests.support.routing import authority, national_context, write_directory

BUERGERGELD = "99900000000101"
NESTED: dict[str, Any] = {
    "version": "cli",
    "services": {BUERGERGELD: "Bürgergeld"},
    "authorities": [authority("jobcenter-koeln"), authority("regionaldirektion-nrw")],
    "competences": [
        {"authority": "jobcenter-koeln", "services": [BUERGERGELD], "area": "05315"},
        {"authority": "regionaldirektion-nrw", "services": [BUERGERGELD], "area": "05"},
    ],
}


@pytest.fixture
def amtsweg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(routing_cli, "console", Console(width=200))
    return CliRunner(
        env={
            "AMTSWEG_DATA_DIR": str(tmp_path),
            "AMTSWEG_LEDGER_URL": None,
            "AMTSWEG_LEDGER_CHAIN_KEY": None,
            "AMTSWEG_ROUTING_DIRECTORY": None,
        }
    )


def _run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, list(args))


def test_explain_names_the_match_the_version_and_the_runners_up(
    amtsweg: CliRunner, tmp_path: Path
) -> None:
    path = write_directory(tmp_path, NESTED)
    result = _run(
        amtsweg, "route", "explain", BUERGERGELD, "053150000000", "--directory", str(path)
    )

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("directory version cli+")
    assert "region 053150000000 Köln, Stadt" in lines[1]
    assert "→ match     district     05315" in lines[2]
    assert "jobcenter-koeln" in lines[2]
    assert "runner-up state        05" in lines[3]
    assert "regionaldirektion-nrw" in lines[3]
    assert "routed to jobcenter-koeln" in lines[4]


def test_explain_as_json_for_a_postal_code_over_the_national_directory(
    amtsweg: CliRunner,
) -> None:
    result = _run(amtsweg, "route", "explain", BUERGERGELD, "84032", "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["directoryVersion"] == national_context().version
    assert report["outcome"]["kind"] == "Unroutable"
    assert report["outcome"]["reason_code"] == "ambiguous-region"
    assert set(report["competences"]) == {"092740113113", "092610000000"}
    picked = _run(amtsweg, "route", "explain", BUERGERGELD, "84032", "--municipality", "Altdorf")
    assert "routed to jobcenter-landkreis-landshut" in picked.output


def test_explain_refuses_a_region_that_is_no_key(amtsweg: CliRunner) -> None:
    assert _run(amtsweg, "route", "explain", BUERGERGELD, "0531").exit_code == 2
    unknown = _run(amtsweg, "route", "explain", BUERGERGELD, "053150000001")
    assert unknown.exit_code == 0
    assert "unroutable (invalid-region): the given ARS is not in" in unknown.output


def test_directory_check_passes_the_bundled_directory(amtsweg: CliRunner) -> None:
    result = _run(amtsweg, "directory", "check")

    assert result.exit_code == 0, result.output
    assert f"version {national_context().version}" in result.output
    assert "2069 authorities" in result.output


def test_directory_check_lists_every_problem_and_exits_1(
    amtsweg: CliRunner, tmp_path: Path
) -> None:
    document = copy.deepcopy(NESTED)
    document["competences"][0]["area"] = "05399"  # no such district
    document["competences"].append(dict(document["competences"][1]))  # the same twice
    document["authorities"].append({"id": "ohne-kanal", "name": "Ohne Kanal", "state": "05"})
    path = write_directory(tmp_path, document, "broken.json")

    result = _run(amtsweg, "directory", "check", str(path))

    assert result.exit_code == 1
    assert "4 problem(s)" in result.output
    assert "competence id 'regionaldirektion-nrw/99900000000101/05' is used by" in result.output
    assert "competences[0].area: 05399 is not in the ARS list 2021-07-31" in result.output
    assert "authorities[2].channel: missing delivery channel" in result.output
    assert "competences[2]: service 99900000000101 in area 05 is already assigned" in (
        result.output
    )


def _unroutable(ledger: Ledger) -> UUID:
    submission = new_submission()  # its hint (a postal code) would be in the vault
    ledger.save(submission)
    ledger.execute(submission.id, lambda s: s.validate("cat-1", "urn:x"))
    ledger.execute(
        submission.id, lambda s: s.mark_unroutable("ambiguous-region", "two districts", "v-1")
    )
    return submission.id


def test_triage_lists_and_assigns_with_who_and_why(
    amtsweg: CliRunner, ledger: Ledger, tmp_path: Path
) -> None:
    waiting = _unroutable(ledger)
    listed = json.loads(_run(amtsweg, "triage", "list", "--json").stdout)
    assert [(i["submission_id"], i["reason"]) for i in listed] == [
        (str(waiting), "ambiguous-region")
    ]

    args = ["triage", "assign", str(waiting), "--authority", "jobcenter-landshut"]
    who = ["--by", "erika.mustermann", "--reason", "Anruf: wohnt in Landshut"]
    assigned = _run(amtsweg, *args, *who)
    assert assigned.exit_code == 0, assigned.output
    assert "assigned to jobcenter-landshut" in assigned.output
    last = ledger.trail(waiting)[-1]
    assert last.event == "Assigned"
    assert (last.data["by"], last.data["reason"]) == (
        "erika.mustermann",
        "Anruf: wohnt in Landshut",
    )
    assert last.data["directory_version"] == national_context().version
    assert "already assigned" in _run(amtsweg, *args, *who).output
    assert "0 unroutable" in _run(amtsweg, "triage", "list").output

    unknown = _run(
        amtsweg, "triage", "assign", str(_unroutable(ledger)), "--authority", "x-y", *who
    )
    assert unknown.exit_code == 1
    assert "no authority 'x-y'" in unknown.output
    other = _run(amtsweg, "triage", "assign", str(waiting), "--authority", "jobcenter-koeln", *who)
    assert other.exit_code == 1
    assert "is routed, not unroutable" in other.output


def test_the_routing_bench_measures_index_and_scan() -> None:
    results = {r.case: r for r in run_bench(national_context(), seconds=0.01)}

    assert set(results) == {
        "route(ARS), index",
        "decide(ARS hint)",
        "decide(AGS hint)",
        "decide(postal code)",
        "linear scan (no index)",
    }
    assert all(r.resolutions > 0 and r.resolutions_per_s > 0 for r in results.values())
