"""Running the relay: publish batch after batch until stopped, pausing while there is nothing
to publish or the broker fails.

The outbox step itself (``events.relay.Relay.publish_batch``) is the ledger's; how often
to call it and how long to wait after a failure is runtime policy, with the same backoff
as every other retry loop. An idle relay polls the log; a :class:`Doorbell` rung by the
saves of its own process (``Ledger.when_saved``: the stages beside it in ``amtsweg run``)
ends its pause at once, so a submission does not wait for the next poll at each hop.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from events.publisher import PublishError
from events.relay import Relay
from services.runtime.backoff import backoff

log = structlog.get_logger(__name__)

IDLE_PAUSE_FIRST = 0.01
"""The wait after the first empty look at the log; it doubles up to ``IDLE_PAUSE_MAX``."""
IDLE_PAUSE_MAX = 0.02
"""An idle relay looks every 20 ms: each hop of a submission waits at most that."""
ERROR_PAUSE_FIRST = 0.2
"""The wait after the first failed batch; it doubles up to ``ERROR_PAUSE_MAX``."""
ERROR_PAUSE_MAX = 5.0


class Doorbell:
    """Ends an idle relay's pause when its process has saved to the ledger.

    ``ring`` may be called from any thread (the stages save in worker threads); rings
    while one is pending are one ring. A ring that comes while the relay reads the log
    is kept for its next pause, so no save waits for the poll.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()
        self._pending = False

    def ring(self) -> None:
        """Wake the relay (any thread)."""
        if not self._pending:
            self._pending = True
            self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self, seconds: float) -> None:
        """Until rung, or ``seconds`` have passed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout=seconds)
        self._event.clear()
        self._pending = False


async def run_relay(relay: Relay, stop: asyncio.Event, doorbell: Doorbell | None = None) -> None:
    """Publish until ``stop`` is set; back off while the log is idle or the broker fails.

    A failed batch is published again from the stored position after the pause. While
    idle, ``doorbell`` ends the pause early (``stop`` rings it too).
    """
    if doorbell is None:
        await _publish_until(relay, stop, None)
        return
    bell = asyncio.create_task(_ring_when_set(stop, doorbell))
    try:
        await _publish_until(relay, stop, doorbell)
    finally:
        bell.cancel()


async def _ring_when_set(stop: asyncio.Event, doorbell: Doorbell) -> None:
    await stop.wait()
    doorbell.ring()


async def _publish_until(relay: Relay, stop: asyncio.Event, doorbell: Doorbell | None) -> None:
    idle = 0
    failures = 0
    log.info("relay.started", relay=relay.name, position=relay.position)
    while not stop.is_set():
        try:
            published = await relay.publish_batch()
        except PublishError as error:
            pause = backoff(failures, base=ERROR_PAUSE_FIRST, cap=ERROR_PAUSE_MAX)
            failures += 1
            log.warning("relay.publish_failed", error=_cause(error), retry_in=pause)
        else:
            failures = 0
            if published:
                idle = 0
                continue
            pause = backoff(idle, base=IDLE_PAUSE_FIRST, cap=IDLE_PAUSE_MAX)
            idle += 1
            if doorbell is not None:
                await doorbell.wait(pause)
                continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=pause)
    log.info("relay.stopped", relay=relay.name, position=relay.position)


def _cause(error: PublishError) -> str:
    """The broker client's error class, as the log has always named it."""
    return type(error.__cause__ or error).__name__
