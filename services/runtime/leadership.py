"""Running a singleton only while this process holds its lease; standing by otherwise.

A singleton of a ledger (its relay, notifier, retention job, checkpoint writer) runs in
every process started for it, but does its work in one only: :func:`run_as_leader` tries
to acquire the lease, and while another process holds it, stands by and tries again. Once
elected it starts the part and renews the lease at a third of its duration; when a
renewal fails, or a fenced write finds a newer term (``StaleLeaderError``), it stops the
part at once and goes back to standing by. On ``stop`` it stops the part and releases
the lease, so a standby takes over without waiting for the lease to run out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass

import structlog

from events.lease import Lease, StaleLeaderError, Tenure

log = structlog.get_logger(__name__)

Part = Callable[[Tenure, asyncio.Event], Coroutine[object, object, None]]
"""A singleton's work for one term: runs until its event is set (or it is cancelled)."""
Observer = Callable[[Tenure | None], None]
"""Told the current term on election and None when it ends (the ``amtsweg_leader`` gauge)."""


@dataclass(frozen=True)
class Pace:
    """How often a leader renews and a standby tries again."""

    renew_every: float
    retry_every: float

    @classmethod
    def of(cls, lease_seconds: float) -> Pace:
        """Renew every third of the lease; a standby tries every third too, at most 1 s apart."""
        return cls(renew_every=lease_seconds / 3, retry_every=min(1.0, lease_seconds / 3))


def _unobserved(_: Tenure | None) -> None:
    """No one watches the terms."""


async def run_as_leader(
    lease: Lease, part: Part, stop: asyncio.Event, *, pace: Pace, observe: Observer = _unobserved
) -> None:
    """Run ``part`` whenever this process holds ``lease``, until ``stop`` is set.

    Returns when ``stop`` is set or the part ends by itself; a part's error other than
    ``StaleLeaderError`` is raised (after the lease is released).
    """
    standing_by = False
    while not stop.is_set():
        tenure = await asyncio.to_thread(lease.acquire)
        if tenure is None:
            if not standing_by:
                log.info("leader.standby", lease=lease.name, holder=lease.holder)
                standing_by = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pace.retry_every)
            continue
        standing_by = False
        log.info("leader.acquired", lease=lease.name, holder=lease.holder, token=tenure.token)
        observe(tenure)
        try:
            finished = await _lead(lease, tenure, part, stop, pace.renew_every)
        finally:
            observe(None)
            await asyncio.to_thread(lease.release)
        if finished:
            return


async def _lead(
    lease: Lease, tenure: Tenure, part: Part, stop: asyncio.Event, renew_every: float
) -> bool:
    """Run one term; True if the part finished (or was stopped), False if the term was lost."""
    part_stop = asyncio.Event()
    task = asyncio.create_task(part(tenure, part_stop), name=f"{lease.name}-leader")
    stopping = asyncio.create_task(stop.wait())
    try:
        while True:
            await asyncio.wait(
                {task, stopping}, timeout=renew_every, return_when=asyncio.FIRST_COMPLETED
            )
            if stopping.done() and not task.done():
                part_stop.set()
                await asyncio.wait({task})
            if task.done():
                return _finished(task, tenure)
            if not await asyncio.to_thread(lease.renew):
                _lost(tenure, "renewal failed")
                return False
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()
            await asyncio.wait({task})


def _finished(task: asyncio.Task[None], tenure: Tenure) -> bool:
    """True if the part ended (its error raised), False if a fenced write was refused."""
    try:
        task.result()
    except StaleLeaderError:
        _lost(tenure, "a newer term holds the lease")
        return False
    return True


def _lost(tenure: Tenure, reason: str) -> None:
    log.warning(
        "leader.lost", lease=tenure.lease, holder=tenure.holder, token=tenure.token, reason=reason
    )
