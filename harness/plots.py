"""The plotting library, imported only when a command draws a plot."""

from __future__ import annotations

from types import ModuleType

import typer

MISSING = "plots need matplotlib, the harness extra: pip install 'amtsweg[harness]'"


def pyplot() -> ModuleType:
    """``matplotlib.pyplot`` on the file-only Agg backend; a clear exit when it is missing."""
    try:
        import matplotlib  # noqa: PLC0415 - an optional extra, only plots need it
    except ImportError:
        typer.echo(MISSING, err=True)
        raise typer.Exit(2) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt
