"""The harness's plots need its optional extra; without it a command exits with a hint."""

from __future__ import annotations

import sys

import pytest
import typer

from harness.plots import MISSING, pyplot


def test_without_matplotlib_a_plot_exits_with_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as if not installed

    with pytest.raises(typer.Exit) as exited:
        pyplot()

    assert exited.value.exit_code == 2
    assert MISSING in capsys.readouterr().err
    assert "amtsweg[harness]" in MISSING


def test_with_matplotlib_the_file_backend_is_used() -> None:
    plt = pyplot()

    assert plt.get_backend().lower() == "agg"
