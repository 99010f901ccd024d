"""Backpressure: a bounded number of write requests at once, ``503`` with ``Retry-After`` above.

Above saturation a queue in front of the ledger only makes every answer slower; a portal
told ``503 Service Unavailable`` with ``Retry-After`` retries later (with its
``Idempotency-Key``, so a retry never submits twice) and the requests in progress keep
their latency. Reads (status, events, replies) are not counted: they are cheap and are
what a portal polls while it waits; neither are the operators' actions under ``/ops``, so
that staff can still act on a platform that is overloaded.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from contracts.problems import Problem

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EXEMPT_PREFIX = "/ops/"


class InFlightLimit:
    """ASGI middleware: at most ``max_requests`` write requests in progress, else ``503``."""

    def __init__(
        self,
        app: ASGIApp,
        max_requests: int,
        retry_after_seconds: int,
        on_refused: Callable[[], None] | None = None,
    ) -> None:
        self._app = app
        self._on_refused = on_refused
        self._max_requests = max_requests
        self._retry_after = str(retry_after_seconds).encode()
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") not in WRITES
            or str(scope.get("path", "")).startswith(EXEMPT_PREFIX)
        ):
            await self._app(scope, receive, send)
            return
        if self.in_flight >= self._max_requests:
            if self._on_refused is not None:
                self._on_refused()
            await self._refuse(send)
            return
        self.in_flight += 1
        try:
            await self._app(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _refuse(self, send: Send) -> None:
        problem = Problem.of(
            "overloaded",
            "Service overloaded",
            status=503,
            detail=f"{self._max_requests} requests are in progress; retry after "
            f"{self._retry_after.decode()} s with the same Idempotency-Key.",
        )
        body = json.dumps(problem.model_dump(exclude_none=True)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", self._retry_after),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
