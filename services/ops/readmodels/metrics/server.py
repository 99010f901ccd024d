"""``/metrics``: a route on the HTTP app, or a small server of its own.

A process that runs the HTTP intake answers ``/metrics`` on its HTTP port. Any other
process serves it on ``AMTSWEG_METRICS_HOST``:``AMTSWEG_METRICS_PORT`` (default
127.0.0.1:9464); with the port unset and 9464 taken (several processes on one machine)
it takes a free port and logs it in ``amtsweg.ready``. A port that is set is used as it
is, or the process stops. The same server answers the process's probes (``health``).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import structlog
import uvicorn
from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.ops.readmodels.metrics.health import Health, health_routes
from services.ops.readmodels.metrics.settings import DEFAULT_PORT, MetricsSettings

log = structlog.get_logger(__name__)


def metrics_route(registry: CollectorRegistry) -> Route:
    """``GET /metrics`` in Prometheus' text format."""

    async def metrics(_: Request) -> Response:
        body = await run_in_threadpool(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics, methods=["GET"], include_in_schema=False)


def mount_metrics(app: FastAPI, registry: CollectorRegistry) -> None:
    """Answer ``/metrics`` on the HTTP app (not part of its OpenAPI document)."""
    app.router.routes.append(metrics_route(registry))


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside Amtsweg's loop: signals are the runner's business."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(settings: MetricsSettings) -> socket.socket:
    """The listening socket: the port set, else 9464, else any free one."""
    ports = [settings.port] if settings.port is not None else [DEFAULT_PORT, 0]
    for port in ports:
        sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((settings.host, port))
            sock.listen()  # now: two processes starting together could both bind it before
        except OSError:
            sock.close()
            if port == ports[-1]:
                raise
            log.warning("metrics.port_taken", port=port)
            continue
        return sock
    raise AssertionError  # pragma: no cover - the loop returns or raises


async def start_metrics_server(
    registry: CollectorRegistry, settings: MetricsSettings, health: Health | None = None
) -> tuple[str, asyncio.Task[None], uvicorn.Server]:
    """Serve ``/metrics`` and the probes of ``health`` (``/livez``, ``/readyz``,
    ``/healthz``) until the server is told to exit; without ``health``, the process is
    taken as started."""
    if health is None:
        health = Health()
        health.started([])
    app = Starlette(routes=[metrics_route(registry), *health_routes(health)])
    sock = bind(settings)
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="metrics-http")
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return f"http://{host}:{port}/metrics", task, server
