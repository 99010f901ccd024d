"""A service started while the broker is away waits for it instead of exiting."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import KafkaConnectionError

from services.ops.app import runner


async def test_waits_until_the_broker_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "BROKER_RETRY_MIN", 0.01)
    attempts: list[int] = []

    async def prepare() -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise KafkaConnectionError("away")

    await runner._until_the_broker_answers(prepare, asyncio.Event())
    assert len(attempts) == 3


async def test_gives_up_when_told_to_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "BROKER_RETRY_MIN", 0.01)
    stop = asyncio.Event()

    async def prepare() -> None:
        stop.set()
        raise KafkaConnectionError("away")

    with pytest.raises(KafkaConnectionError):
        await runner._until_the_broker_answers(prepare, stop)
