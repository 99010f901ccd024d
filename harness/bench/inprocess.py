"""The HTTP app ``amtsweg run`` serves, in this process, for benchmarks of single requests.

Development settings in a scratch folder (SQLite ledger, generated keys), one portal
whose token the bench holds, logs at WARNING; requests go through httpx's ASGI transport
(no network, so figures include the client's side of httpx).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

PORTAL = "bench-portal"


@dataclass(frozen=True)
class InProcess:
    """A client of the app and the bench portal's token."""

    http: httpx.AsyncClient
    portal_token: str

    def auth(self) -> dict[str, str]:
        """The bench portal's ``Authorization`` header on Amtsweg's own API."""
        return {"Authorization": f"Bearer {self.portal_token}"}


@contextmanager
def _environment(scratch: Path, token: str) -> Iterator[None]:
    """Development settings in ``scratch`` with one portal whose token is ``token``."""
    from services.intake.auth import token_hash  # noqa: PLC0415 - the app's own hash

    values = {
        "AMTSWEG_DEVELOPMENT": "true",
        "AMTSWEG_DATA_DIR": str(scratch),
        "AMTSWEG_PORTAL_TOKENS": json.dumps({PORTAL: token_hash(token)}),
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


@asynccontextmanager
async def http_app(scratch: Path) -> AsyncIterator[InProcess]:
    """The whole HTTP app on a scratch data dir, and a client of it."""
    from services.ops.app.bootstrap import Wiring  # noqa: PLC0415 - after the environment
    from services.ops.app.logs import configure_logging  # noqa: PLC0415
    from services.ops.app.settings import Settings  # noqa: PLC0415

    configure_logging(level="WARNING")
    token = secrets.token_urlsafe(24)
    with _environment(scratch, token):
        wiring = Wiring(Settings.from_environment())
        try:
            transport = httpx.ASGITransport(app=wiring.http_app())
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", timeout=60
            ) as http:
                yield InProcess(http, token)
        finally:
            wiring.close()
