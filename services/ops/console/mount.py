"""Mounting the ops API and the web console on an HTTP app (next to the intake's routes)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from services.ops.console.api import OpsDependencies, create_ops_router

STATIC = Path(__file__).parent / "static"
CONSOLE_PATH = "/ops/console"


def mount_console(app: FastAPI, deps: OpsDependencies) -> None:
    """``/ops/…`` (operators' bearer tokens) and the console's files at ``/ops/console/``.

    The console's files hold no data: the page asks for an operator token and sends it
    with every API call, so serving them without a token gives nothing away.
    """
    app.include_router(create_ops_router(deps))

    @app.get(CONSOLE_PATH, include_in_schema=False)
    async def console() -> RedirectResponse:
        return RedirectResponse(f"{CONSOLE_PATH}/")

    app.mount(f"{CONSOLE_PATH}/", StaticFiles(directory=STATIC, html=True), name="ops-console")
