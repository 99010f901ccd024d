"""A real HTTP callback receiver on a free local port: fails the first N calls, checks HMACs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from contracts.callbacks import AUTHENTICATION_HEADER, TIMESTAMP_HEADER, verify_callback
from tests.support.pipeline import free_port


@dataclass
class Call:
    """One callback as it arrived."""

    body: bytes
    authentic: bool
    answered: int


@dataclass
class CallbackReceiver:
    """What the authority's endpoint saw."""

    url: str
    secret: str
    fail_first: int
    calls: list[Call] = field(default_factory=list)


class _QuietServer(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def callback_receiver(secret: str, fail_first: int) -> AsyncIterator[CallbackReceiver]:
    """Serve ``POST /callbacks`` until the block ends; ``fail_first`` calls answer 503."""
    port = free_port()
    receiver = CallbackReceiver(f"http://127.0.0.1:{port}/callbacks", secret, fail_first)

    async def callbacks(request: Request) -> Response:
        body = await request.body()
        authentic = verify_callback(
            secret,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(AUTHENTICATION_HEADER),
            body,
            now=time.time(),
        )
        status = 503 if len(receiver.calls) < fail_first else 200 if authentic else 401
        receiver.calls.append(Call(body, authentic, status))
        return Response(status_code=status)

    app = Starlette(routes=[Route("/callbacks", callbacks, methods=["POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task
