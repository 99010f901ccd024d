"""The HTTP app of a process that runs the intake: portals' and authorities' routes.

Built here for the runner and for ``amtsweg docs`` alike, so the OpenAPI document
describes exactly what is served.
"""

from __future__ import annotations

import uuid

import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp, Receive, Scope, Send

from events.blobs import BlobStore
from events.ledger import Ledger
from services.intake.http import create_app
from services.intake.settings import IntakeSettings
from services.ops.app.deliveries import delivery_context, delivery_router
from services.ops.app.operations import ops_dependencies
from services.ops.console.mount import mount_console
from services.ops.readmodels.metrics.server import mount_metrics


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


def http_app(
    ledger: Ledger,
    blobs: BlobStore,
    intake: IntakeSettings,
    registry: CollectorRegistry | None = None,
    *,
    bootstrap_servers: str | None = None,
) -> FastAPI:
    """The intake API with the authorities' routes, the ops API and console (``/ops``), and
    ``/metrics`` when given a registry. ``bootstrap_servers``: where the ops API finds the
    intake's dead letters (none: it lists only the deliveries' ones)."""
    app = create_app(ledger, blobs, intake)
    deliveries = delivery_context()
    app.include_router(delivery_router(ledger, blobs, deliveries))
    mount_console(app, ops_dependencies(ledger, bootstrap_servers, deliveries))
    if registry is not None:
        mount_metrics(app, registry)
    app.add_middleware(RequestContext)
    return app
