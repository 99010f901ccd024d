"""Liveness and readiness of a process without the HTTP intake, for its probes.

A worker, the relay, the notifier and the other background services have no HTTP API of
their own; what an orchestrator needs to know about them is answered beside ``/metrics``:

- ``/livez``: the process's event loop answers and none of its parts (a worker's consumer,
  the relay's loop …) has ended. A part that ended stops the process anyway; until it
  has, the probe says so, so that the container is restarted rather than trusted.
- ``/readyz`` (and ``/healthz``): alive, and started: the broker answered, the topics are
  there and every part runs. While a process waits for its broker it is alive, not ready.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


class Health:
    """What a process's probes read: its running parts and whether it has started."""

    def __init__(self) -> None:
        self._parts: list[asyncio.Task[None]] = []
        self._started = False

    def started(self, parts: Iterable[asyncio.Task[None]]) -> None:
        """Every part runs from now on: ready, as long as none of ``parts`` ends."""
        self._parts = list(parts)
        self._started = True

    def alive(self) -> bool:
        """No part has ended (the loop answering the probe is the rest of it)."""
        return not any(part.done() for part in self._parts)

    def ready(self) -> bool:
        """Started, and still alive."""
        return self._started and self.alive()


def health_routes(health: Health) -> list[Route]:
    """``GET /livez``, ``/readyz`` and ``/healthz`` (as ``/readyz``): 200, or 503."""

    def answer(ok: bool) -> Response:
        return JSONResponse({"ok": ok}, status_code=200 if ok else 503)

    async def livez(_: Request) -> Response:
        return answer(health.alive())

    async def readyz(_: Request) -> Response:
        return answer(health.ready())

    return [
        Route("/livez", livez, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/healthz", readyz, methods=["GET"]),
    ]
