"""``amtsweg run``'s wiring of the FIT-Connect receiving side: the HTTP app mounts the
answers and destination management, the notifier's process runs the callback loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import httpx
import pytest

from events.ledger import Ledger
from events.vault import Vault
from services.intake.auth import token_hash
from services.ops.app.bootstrap import Core
from tests.support.authority import HANNOVER
from tests.support.delivery import TOKENS as AUTHORITY_TOKENS
from tests.support.fitconnect import access_token
from tests.support.pipeline import intake_settings, wiring


async def test_the_served_app_answers_and_the_callback_loop_runs_until_stopped(
    ledger: Ledger, vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMTSWEG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AMTSWEG_DEVELOPMENT", "true")
    monkeypatch.setenv(
        "AMTSWEG_DELIVERY_AUTHORITY_TOKENS",
        json.dumps({HANNOVER: token_hash(AUTHORITY_TOKENS[HANNOVER])}),
    )
    parts = wiring(intake_settings(port=0), Core(ledger, vault))
    transport = httpx.ASGITransport(app=parts.http_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        info = await http.get("/fit-connect/v1/info")
        token = await access_token(http, HANNOVER, AUTHORITY_TOKENS[HANNOVER])
        answer = await http.post(
            "/fit-connect/v1/cases/00000000-0000-4000-8000-000000000000/events",
            content=b"x.y.z",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/jose"},
        )
    stop = asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        task = await parts.start_fit_connect_callbacks(stack, stop)
        await asyncio.sleep(0.2)
        assert not task.done()
        stop.set()
        await asyncio.wait_for(task, timeout=5)

    assert info.status_code == 200
    assert answer.status_code == 400  # mounted: not a SET
    assert task.exception() is None
