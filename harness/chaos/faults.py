"""The faults of ``amtsweg chaos``: when each process dies, and bringing it back.

The plan is drawn from a seeded random generator, so a run can be repeated: each child
(one per service) is killed ``kills`` times at random moments within the load (10-85 %
of its duration) and started again after a random pause; the broker is restarted once
somewhere in the middle (35-65 %). Kills of one child follow each other: a kill that
falls due while the child is still coming back waits for it. A watchdog starts again any
child that died on its own (a crash, e.g. while the broker was away), as a supervisor
such as Kubernetes would, and counts it. Other parts of a platform (a broker of a
cluster, the database) can be given as :class:`Outage` targets: called at their moment,
each reports what it did and how long it took.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from harness.chaos.processes import BrokerControl, ChaosProcesses, ChildExitedError

log = structlog.get_logger(__name__)

BROKER = "broker"
COMEBACK_TIMEOUT = 240.0
"""How long a killed child may take to be ready again (several attempts)."""


@dataclass(frozen=True)
class Fault:
    """Kill ``target`` (a child's name, or ``broker``) at ``at`` s; back after ``pause`` s."""

    at: float
    target: str
    pause: float


class Outage(Protocol):
    """A fault of something beside the children: cause it, bring it back, say what happened.

    Called in a worker thread; returns figures for the report (e.g. seconds down).
    """

    def __call__(self) -> dict[str, Any]: ...


def plan_faults(
    rng: random.Random,
    children: list[str],
    *,
    kills: int,
    duration: float,
    pause: tuple[float, float],
    broker: bool,
) -> list[Fault]:
    """Every fault of a run, in time order."""
    faults = [
        Fault(round(rng.uniform(0.10, 0.85) * duration, 2), name, round(rng.uniform(*pause), 2))
        for name in sorted(children)
        for _ in range(kills)
    ]
    if broker:
        faults.append(Fault(round(rng.uniform(0.35, 0.65) * duration, 2), BROKER, 0.0))
    return sorted(faults, key=lambda fault: (fault.at, fault.target))


def service_of(child: str) -> str:
    """``validation#1`` → ``validation``."""
    return child.split("#", 1)[0]


@dataclass
class FaultLog:
    """What was done, per service, and when (seconds after the load began)."""

    kills: Counter[str] = field(default_factory=Counter)
    restarts: Counter[str] = field(default_factory=Counter)
    crashes: Counter[str] = field(default_factory=Counter)
    """children that died on their own and were started again"""
    failed_starts: Counter[str] = field(default_factory=Counter)
    """starts that exited before being ready (and were tried again)"""
    broker_restarts: int = 0
    broker_skipped: str | None = None
    broker_down_seconds: list[float] = field(default_factory=list)
    outages: list[dict[str, Any]] = field(default_factory=list)
    """what each :class:`Outage` reported, with its target and start"""
    timeline: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """For the report."""
        services = sorted({*self.kills, *self.restarts, *self.crashes, *self.failed_starts})
        return {
            "perService": {
                s: {
                    "kills": self.kills[s],
                    "restarts": self.restarts[s],
                    "crashes": self.crashes[s],
                    "failedStarts": self.failed_starts[s],
                }
                for s in services
            },
            "brokerRestarts": self.broker_restarts,
            "brokerRestartSkipped": self.broker_skipped,
            "brokerDownSeconds": self.broker_down_seconds,
            "outages": self.outages,
            "timeline": self.timeline,
        }


class FaultRunner:
    """Carries out a plan against the processes and the broker."""

    def __init__(
        self,
        processes: ChaosProcesses,
        broker: BrokerControl,
        faults_log: FaultLog,
        *,
        outages: Mapping[str, Outage] | None = None,
    ) -> None:
        self._processes = processes
        self._broker = broker
        self._outages = dict(outages or {})
        self.log = faults_log
        self._locks = {name: asyncio.Lock() for name in processes.children}
        self._start = 0.0

    def _note(self, what: str, target: str, **details: Any) -> None:
        moment = round(asyncio.get_running_loop().time() - self._start, 2)
        self.log.timeline.append({"t": moment, "what": what, "target": target, **details})
        log.info("chaos.fault", what=what, target=target, t=moment)

    async def run(self, faults: list[Fault], start: float) -> None:
        """Carry out ``faults`` (``at`` counted from loop time ``start``); return when done."""
        self._start = start
        by_target: dict[str, list[Fault]] = {}
        for fault in faults:
            by_target.setdefault(fault.target, []).append(fault)
        await asyncio.gather(*(self._follow(target, plan) for target, plan in by_target.items()))

    async def _follow(self, target: str, faults: list[Fault]) -> None:
        loop = asyncio.get_running_loop()
        for fault in faults:
            await asyncio.sleep(max(0.0, self._start + fault.at - loop.time()))
            if target in self._outages:
                await self._outage(target)
                continue
            if target == BROKER:
                await self._restart_broker()
                continue
            async with self._locks[target]:
                await asyncio.to_thread(self._processes.kill, target)
                self.log.kills[service_of(target)] += 1
                self._note("kill", target)
                await asyncio.sleep(fault.pause)
                await self._bring_back(target)
                self.log.restarts[service_of(target)] += 1
                self._note("ready", target)

    async def _outage(self, target: str) -> None:
        began = round(asyncio.get_running_loop().time() - self._start, 2)
        self._note("outage", target)
        figures = await asyncio.to_thread(self._outages[target])
        self.log.outages.append({"target": target, "t": began, **figures})
        self._note("outage over", target, **figures)

    async def _restart_broker(self) -> None:
        if (reason := self._broker.why_not()) is not None:
            self.log.broker_skipped = reason
            self._note("broker restart skipped", BROKER)
            return
        began = asyncio.get_running_loop().time()
        self._note("broker stop", BROKER, crash=self._broker.crash)
        await asyncio.to_thread(self._broker.restart)
        self.log.broker_restarts += 1
        self.log.broker_down_seconds.append(round(asyncio.get_running_loop().time() - began, 2))
        self._note("broker ready", BROKER)

    async def _bring_back(self, name: str) -> None:
        deadline = asyncio.get_running_loop().time() + COMEBACK_TIMEOUT
        while True:
            offset = self._processes.respawn(name)
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                await self._processes.ready(name, offset, max(remaining, 1.0))
            except ChildExitedError:
                self.log.failed_starts[service_of(name)] += 1
                self._note("start failed", name)
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(1.0)
            else:
                return

    async def watch(self, stop: asyncio.Event) -> None:
        """Until ``stop``: start again every child that died on its own."""
        while not stop.is_set():
            for name, lock in self._locks.items():
                if lock.locked() or self._processes.exited(name) is None:
                    continue
                async with lock:
                    self.log.crashes[service_of(name)] += 1
                    self._note("crashed", name, code=self._processes.exited(name))
                    await self._bring_back(name)
                    self._note("ready", name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.5)
