"""Request-scoped log context of the HTTP app."""

from __future__ import annotations

import uuid

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send


class RequestContext:
    """Binds ``causation_id`` (``http:<uuid>``, one per request) for every log line of it."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        with structlog.contextvars.bound_contextvars(causation_id=f"http:{uuid.uuid4()}"):
            await self._app(scope, receive, send)
