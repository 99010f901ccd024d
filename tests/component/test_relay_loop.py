"""The relay on a SQLite ledger and a failing publisher: nothing skipped, nothing stored early."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from events.ledger import Ledger
from events.outbox import Outbound
from events.publisher import PublishError
from events.relay import Relay
from events.relay_store import relay_store
from events.vault import Vault
from services.runtime import relay_loop
from services.runtime.relay_loop import run_relay
from tests.support.factories import new_submission


@dataclass
class FlakyPublisher:
    """Fails the coming sends as told (``send``: at once, ``ack``: on acknowledgement)."""

    failures: list[str] = field(default_factory=list)
    acknowledged: list[Outbound] = field(default_factory=list)

    async def send(self, outbound: Outbound) -> asyncio.Future[object]:
        failure = self.failures.pop(0) if self.failures else None
        if failure == "send":
            raise PublishError("broker unreachable")
        ack: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        if failure == "ack":
            ack.set_exception(PublishError("not acknowledged"))
        else:
            self.acknowledged.append(outbound)
            ack.set_result(None)
        return ack


def _received(ledger: Ledger, count: int) -> list[bytes]:
    submissions = [new_submission() for _ in range(count)]
    ledger.save(*submissions)
    return [str(s.id).encode() for s in submissions]


async def test_a_failed_acknowledgement_leaves_the_position_for_the_next_attempt(
    ledger: Ledger, vault: Vault
) -> None:
    keys = _received(ledger, 3)
    publisher = FlakyPublisher(failures=["ok", "ack"])
    relay = Relay(ledger, relay_store(ledger.settings), publisher, envelopes=vault.envelope)

    with pytest.raises(PublishError):
        await relay.publish_batch()
    assert relay.position == 0
    assert relay_store(ledger.settings).position("relay") == 0

    assert await relay.publish_batch() == 3
    assert relay_store(ledger.settings).position("relay") == relay.position
    assert [o.key for o in publisher.acknowledged[-3:]] == keys


async def test_the_run_loop_publishes_again_after_failures_until_stopped(
    ledger: Ledger, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relay_loop, "ERROR_PAUSE_FIRST", 0.001)
    keys = _received(ledger, 2)
    publisher = FlakyPublisher(failures=["send", "send", "ack"])
    relay = Relay(ledger, relay_store(ledger.settings), publisher, envelopes=vault.envelope)
    stop = asyncio.Event()
    task = asyncio.create_task(run_relay(relay, stop))
    try:
        async with asyncio.timeout(10):
            while relay.published < 2:
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        await task
    assert publisher.failures == []
    assert [o.key for o in publisher.acknowledged[-2:]] == keys
    assert relay_store(ledger.settings).position("relay") == relay.position
