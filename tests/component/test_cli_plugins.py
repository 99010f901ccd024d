"""`bench` and `chaos` reach the `amtsweg` command as plugins; a broken plugin is named."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest
import typer
from typer.testing import CliRunner

from services.ops.cli import main as cli


def test_the_installed_harness_adds_bench_and_chaos() -> None:
    result = CliRunner().invoke(cli.app, ["--help"])

    assert result.exit_code == 0, result.output
    assert "bench" in result.output
    assert "chaos" in result.output
    bench = CliRunner().invoke(cli.app, ["bench", "--help"])
    assert {"validation", "pipeline", "routing"} <= set(bench.output.split())


def test_a_plugin_that_cannot_be_imported_is_named_and_the_rest_still_works(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = EntryPoint("broken", "no_such_module.anywhere:register", cli.PLUGINS)
    working = EntryPoint("chaos", "harness.chaos.command:register", cli.PLUGINS)
    monkeypatch.setattr(cli, "entry_points", lambda group: [broken, working])
    root = typer.Typer()
    root.command("noop")(lambda: None)

    cli.add_plugins(root)

    assert "'broken' not loaded" in capsys.readouterr().err
    assert [command.name for command in root.registered_commands] == ["noop", "chaos"]
