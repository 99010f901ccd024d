"""The HTTP app ``amtsweg run`` serves, in this process, for benchmarks of single requests.

Development settings in a scratch folder (SQLite ledger, generated keys), one portal
and one operator (scope: every tenant) whose tokens the bench holds, logs at WARNING;
requests go through httpx's ASGI transport (no network, so figures include the client's
side of httpx).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import structlog

if TYPE_CHECKING:
    from services.ops.app.bootstrap import Wiring

PORTAL = "bench-portal"
OPERATOR = "bench-operator"


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


@dataclass(frozen=True)
class InProcess:
    """A client of the app, the bench portal's and operator's tokens, the app's parts."""

    http: httpx.AsyncClient
    portal_token: str
    operator_token: str = ""
    wiring: Wiring | None = None

    def auth(self) -> dict[str, str]:
        """The bench portal's ``Authorization`` header on Amtsweg's own API."""
        return {"Authorization": f"Bearer {self.portal_token}"}

    def operator_auth(self) -> dict[str, str]:
        """The bench operator's ``Authorization`` header on the ops API (``/ops``)."""
        return {"Authorization": f"Bearer {self.operator_token}"}


@contextmanager
def _environment(scratch: Path, token: str, operator_token: str) -> Iterator[None]:
    """Development settings in ``scratch`` with one portal and one operator, whose tokens
    are ``token`` and ``operator_token``."""
    from services.intake.auth import token_hash  # noqa: PLC0415 - the app's own hash

    values = {
        "AMTSWEG_DEVELOPMENT": "true",
        "AMTSWEG_DATA_DIR": str(scratch),
        "AMTSWEG_PORTAL_TOKENS": json.dumps({PORTAL: token_hash(token)}),
        "AMTSWEG_OPERATOR_TOKENS": json.dumps({OPERATOR: token_hash(operator_token)}),
        "AMTSWEG_OPERATOR_SCOPES": json.dumps({OPERATOR: ["*"]}),
        "AMTSWEG_LOG_LEVEL": "WARNING",
    }
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _quiet_logs() -> Iterator[None]:
    """Warnings and errors only while the bench runs; the process's logging as before after
    (no logger cached meanwhile, so nothing keeps the bench's level)."""
    before = structlog.get_config()
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        cache_logger_on_first_use=False,
    )
    try:
        yield
    finally:
        structlog.configure(**before)


@asynccontextmanager
async def http_app(scratch: Path) -> AsyncIterator[InProcess]:
    """The whole HTTP app on a scratch data dir, and a client of it."""
    from services.ops.app.bootstrap import Wiring  # noqa: PLC0415 - after the environment
    from services.ops.app.settings import Settings  # noqa: PLC0415

    token, operator_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    with _environment(scratch, token, operator_token), _quiet_logs():
        wiring = Wiring(Settings.from_environment())
        try:
            transport = httpx.ASGITransport(app=wiring.http_app())
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", timeout=60
            ) as http:
                yield InProcess(http, token, operator_token, wiring)
        finally:
            wiring.close()
