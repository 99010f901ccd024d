"""Running the relay: publish batch after batch until stopped, pausing while there is nothing
to publish or the broker fails.

The outbox step itself (``events.relay.Relay.publish_batch``) is the ledger's; how often
to call it and how long to wait after a failure is runtime policy, with the same backoff
as every other retry loop.
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


async def run_relay(relay: Relay, stop: asyncio.Event) -> None:
    """Publish until ``stop`` is set; back off while the log is idle or the broker fails.

    A failed batch is published again from the stored position after the pause.
    """
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
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=pause)
    log.info("relay.stopped", relay=relay.name, position=relay.position)


def _cause(error: PublishError) -> str:
    """The broker client's error class, as the log has always named it."""
    return type(error.__cause__ or error).__name__
