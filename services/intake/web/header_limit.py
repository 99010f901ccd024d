"""A bound on the size of a request's headers, whatever the HTTP server lets through.

h11 bounds only headers that arrive in pieces, so the app counts them itself: a request
whose header block is larger than the setting is answered ``431`` with a problem, before
any route reads it.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from contracts.problems import Problem


class HeaderLimit:
    """ASGI middleware: ``431 Request Header Fields Too Large`` above ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self._app = app
        self._max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = sum(len(name) + len(value) + 4 for name, value in scope.get("headers", []))
            if size > self._max_bytes:
                await _refuse(send, self._max_bytes)
                return
        await self._app(scope, receive, send)


async def _refuse(send: Send, max_bytes: int) -> None:
    problem = Problem.of(
        "headers-too-large",
        "Request header fields too large",
        status=431,
        detail=f"The request's headers have more than {max_bytes} bytes.",
    )
    body = json.dumps(problem.model_dump(exclude_none=True)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 431,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
