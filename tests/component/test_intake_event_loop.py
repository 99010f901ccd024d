"""A slow metadata check does not hold up the other routes: it runs off the event loop.

The metadata check is made to wait until the test lets it go. ``/healthz`` must answer
while the check still waits; were the check on the event loop, the loop would be stuck
in it, ``/healthz`` could not answer, and the check would wait in vain until its own
timeout (``released == [False]``).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest

from services.intake import parts
from services.intake.metadata import parse_metadata
from services.intake.settings import IntakeSettings
from tests.support.factories import xdomea_sample
from tests.support.intake import multipart
from tests.support.pipeline import auth

WAIT_SECONDS = 20
"""How long the held check waits for the test before it gives up (only on failure)."""


async def test_healthz_answers_while_a_metadata_check_is_running(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = threading.Event(), threading.Event()
    released: list[bool] = []

    def held_check(document: Any, settings: IntakeSettings) -> Any:
        started.set()
        released.append(release.wait(WAIT_SECONDS))
        return parse_metadata(document, settings)

    monkeypatch.setattr(parts, "parse_metadata", held_check)
    files = multipart(xdomea_sample())
    post = asyncio.create_task(client.post("/v1/submissions", files=files, headers=auth()))
    assert await asyncio.to_thread(started.wait, WAIT_SECONDS)

    health = await client.get("/healthz")
    release.set()
    accepted = await post

    assert health.headers["content-type"] == "application/json"
    assert "ready" in health.json()
    assert released == [True]  # /healthz answered before the check was let go
    assert accepted.status_code == 202, accepted.text
