"""Backpressure at the HTTP intake: writes above the bound get 503 with Retry-After at once;
reads and operators' actions pass."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.intake.web.in_flight import InFlightLimit

GUARD = 5.0


def _app(release: asyncio.Event, entered: asyncio.Semaphore, refusals: list[None]) -> InFlightLimit:
    async def slow(request: Request) -> JSONResponse:
        await request.body()
        entered.release()
        await release.wait()
        return JSONResponse({"ok": True}, status_code=202)

    async def read(_: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    inner = Starlette(
        routes=[
            Route("/w", slow, methods=["POST"]),
            Route("/r", read),
            Route("/ops/api/act", read, methods=["POST"]),
        ]
    )
    return InFlightLimit(
        inner, max_requests=2, retry_after_seconds=3, on_refused=lambda: refusals.append(None)
    )


async def test_a_write_beyond_the_bound_is_refused_and_reads_and_later_writes_pass() -> None:
    release, entered = asyncio.Event(), asyncio.Semaphore(0)
    refusals: list[None] = []
    limited = _app(release, entered, refusals)
    transport = httpx.ASGITransport(app=limited)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        held = [asyncio.create_task(client.post("/w", content=b"x" * 100_000)) for _ in range(2)]
        for _ in held:
            await asyncio.wait_for(entered.acquire(), GUARD)
        assert limited.in_flight == 2

        refused = await asyncio.wait_for(client.post("/w", content=b"y"), GUARD)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "3"
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["status"] == 503
        assert "overloaded" in refused.json()["type"]
        assert (await asyncio.wait_for(client.get("/r"), GUARD)).status_code == 200
        operator = await asyncio.wait_for(client.post("/ops/api/act"), GUARD)
        assert operator.status_code == 200
        assert len(refusals) == 1

        release.set()
        assert [r.status_code for r in await asyncio.gather(*held)] == [202, 202]
        assert limited.in_flight == 0
        later = asyncio.create_task(client.post("/w", content=b"z"))
        await asyncio.wait_for(entered.acquire(), GUARD)
        assert (await asyncio.wait_for(later, GUARD)).status_code == 202


async def test_a_failing_write_still_frees_its_place() -> None:
    async def broken(_: Request) -> JSONResponse:
        raise RuntimeError("boom")

    limited = InFlightLimit(
        Starlette(routes=[Route("/w", broken, methods=["POST"])]),
        max_requests=1,
        retry_after_seconds=1,
    )
    transport = httpx.ASGITransport(app=limited, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        for _ in range(3):
            assert (await client.post("/w")).status_code == 500
    assert limited.in_flight == 0
