"""The singletons of a ledger, each run only while this process holds its lease.

Every process started for a singleton (relay, notifier, retention, checkpoint) competes
for the lease named after it; the holder runs it, the others stand by and take over when
it dies (:func:`services.runtime.leadership.run_as_leader`). One holder id per process.
"""

from __future__ import annotations

import asyncio
import contextlib

from prometheus_client import CollectorRegistry

from events.lease import Tenure, holder_id
from events.leases import lease_for
from events.settings import LedgerSettings
from services.ops.app.bootstrap import Wiring
from services.ops.readmodels.metrics.registry import CheckpointFigures, LeaderFigures
from services.runtime.leadership import Pace, Part, run_as_leader


class Singletons:
    """Starts the singletons of one process under their leases; their gauge on ``registry``."""

    def __init__(self, wiring: Wiring, registry: CollectorRegistry) -> None:
        self._wiring = wiring
        self._registry = registry
        self._holder = holder_id()
        self._figures = LeaderFigures()
        registry.register(self._figures)

    async def start(
        self, name: str, part: Part, stop: asyncio.Event, *, ledger: LedgerSettings | None = None
    ) -> asyncio.Task[None]:
        """Run ``part`` under the lease ``name`` until ``stop``; the lease lives in ``ledger``
        (a shard's relay: its own shard, where its fenced position is written), by default
        in the configured ledger (shard 0)."""
        seconds = self._wiring.settings.lease.seconds
        where = ledger or self._wiring.settings.ledger
        lease = await asyncio.to_thread(lease_for, where, name, self._holder, seconds)
        election = run_as_leader(
            lease, part, stop, pace=Pace.of(seconds), observe=self._figures.observer(name)
        )
        return asyncio.create_task(election, name=name)

    async def notifier(self, _: Tenure, stop: asyncio.Event) -> None:
        """The notifier's three loops: authorities' callbacks, FIT-Connect's, the portals'."""
        wiring = self._wiring
        async with contextlib.AsyncExitStack() as stack:
            await together(
                [
                    await wiring.start_notifier(stack, stop),
                    await wiring.start_fit_connect_callbacks(stack, stop),
                    await wiring.start_portal_callbacks(stack, stop),
                ]
            )

    async def retention(self, _: Tenure, stop: asyncio.Event) -> None:
        """The retention job."""
        await together([await self._wiring.start_retention(stop)])

    async def checkpoint(self) -> Part:
        """The checkpoint writers of every ledger shard, built (and their figures registered)
        once for every term; one lease covers them all."""
        shards = range(len(self._wiring.ledger.shards))
        writers = [await asyncio.to_thread(self._wiring.checkpoint_writer, k) for k in shards]
        self._registry.register(CheckpointFigures(*writers))
        interval = self._wiring.settings.checkpoint.interval_seconds

        async def write(_: Tenure, stop: asyncio.Event) -> None:
            await asyncio.gather(*(writer.run(stop, interval) for writer in writers))

        return write


async def together(tasks: list[asyncio.Task[None]]) -> None:
    """Wait for all ``tasks``; if one fails or this is cancelled, cancel the others."""
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
