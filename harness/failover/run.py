"""One failover run: the singletons started twice, load, the active ones killed in turn.

For every kill it measures the takeover: for the relay from the SIGKILL to the first
notice the standby publishes (the producer's create time of the first record after the
kill, under steady load); for the notifier (its work is not visible on a topic) from the
SIGKILL to the standby's new term in the lease table. The killed process comes back as
the new standby before the next kill. At the end it waits until every appended
submission is published and checks: nothing lost, no notice of one submission with two
different contents, each takeover a newer term.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer
from rich.console import Console

from contracts import topics
from events.lease import Tenure
from events.leases import term_of
from events.ledger import Ledger
from events.settings import LedgerSettings
from harness.failover.load import Published, append_steadily, read_published
from harness.failover.processes import ACQUIRED, STANDBY, SingletonProcesses

SINGLETONS = ("relay", "notifier")


@dataclass(frozen=True)
class Plan:
    """How much load, how many kills, how long to wait."""

    kills: int
    """SIGKILLs of the active process, per singleton."""
    rate: float
    calm_s: float = 2.0
    """Seconds between the killed process's return as standby and the next kill."""
    limit_s: float = 240.0
    """Seconds a takeover or the final catching up may take before the run fails."""


@dataclass(frozen=True)
class Takeover:
    """One SIGKILL of an active singleton and who took over how fast."""

    singleton: str
    killed: str
    by: str
    seconds: float
    term: Tenure


class Failover:
    """The run: processes, ledger and what was read, for the rounds of kills."""

    def __init__(
        self, plan: Plan, processes: SingletonProcesses, settings: LedgerSettings, progress: Console
    ) -> None:
        self._plan = plan
        self._processes = processes
        self._settings = settings
        self._progress = progress
        self.published = Published()

    def _term(self, singleton: str) -> Tenure | None:
        return term_of(self._settings, singleton)

    def _leader(self, singleton: str) -> str | None:
        term = self._term(singleton)
        return None if term is None else self._processes.named(int(term.holder.split(":")[-2]))

    async def until_elected(self) -> None:
        """Wait until each singleton has a leader among the children and a standby."""
        for singleton in SINGLETONS:
            deadline = time.monotonic() + self._plan.limit_s
            while (leader := self._leader(singleton)) is None:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no {singleton} leader within {self._plan.limit_s:.0f} s")
                await asyncio.sleep(0.1)
            standby = _other(leader)
            await self._processes.logged(standby, STANDBY, 0, self._plan.limit_s)

    async def kill_active(self, singleton: str) -> Takeover:
        """SIGKILL the active process of ``singleton``; measure the takeover; restart it."""
        before = self._term(singleton)
        leader = self._leader(singleton)
        assert before is not None
        assert leader is not None
        standby = _other(leader)
        offset = self._processes.log(standby).stat().st_size
        killed_at = self._processes.kill(leader)
        deadline = killed_at + self._plan.limit_s
        seconds: float | None = None
        while seconds is None:
            if time.time() > deadline:
                raise TimeoutError(f"{standby} did not take over within {self._plan.limit_s:.0f} s")
            await asyncio.sleep(0.02)
            if singleton == "relay":
                first = self.published.first_after(killed_at)
                seconds = None if first is None else first - killed_at
            else:
                term = self._term(singleton)
                if term is not None and term.token > before.token:
                    seconds = time.time() - killed_at
        await self._processes.logged(standby, ACQUIRED, offset, self._plan.limit_s)
        term = self._term(singleton)
        assert term is not None
        back = self._processes.spawn(leader)
        await self._processes.logged(leader, STANDBY, back, self._plan.limit_s)
        self._progress.print(
            f"{singleton}: killed {leader}, {standby} took over in {seconds:.3f} s"
        )
        await asyncio.sleep(self._plan.calm_s)
        return Takeover(singleton, leader, standby, seconds, term)

    async def caught_up(self, appended: set[str]) -> None:
        """Wait until every appended submission was published (or the limit passes)."""
        deadline = time.monotonic() + self._plan.limit_s
        while time.monotonic() < deadline:
            if appended <= self.published.contents.keys():
                return
            await asyncio.sleep(0.2)


def _other(name: str) -> str:
    service, side = name.rsplit("-", 1)
    return f"{service}-{'b' if side == 'a' else 'a'}"


async def run_failover(
    plan: Plan,
    processes: SingletonProcesses,
    settings: LedgerSettings,
    bootstrap_servers: str,
    progress: Console,
) -> dict[str, Any]:
    """Start the processes, load, kill the active ones in turn; the figures and checks."""
    run = Failover(plan, processes, settings, progress)
    ledger = Ledger(settings)
    consumer = AIOKafkaConsumer(
        topics.RECEIVED, bootstrap_servers=bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    reader = asyncio.create_task(read_published(consumer, run.published))
    stop_load = asyncio.Event()
    try:
        await processes.start(plan.limit_s)
        await run.until_elected()
        load = asyncio.create_task(append_steadily(ledger, plan.rate, stop_load))
        takeovers = [
            await run.kill_active(singleton) for _ in range(plan.kills) for singleton in SINGLETONS
        ]
        stop_load.set()
        appended = await load
        await run.caught_up(appended)
    finally:
        stop_load.set()
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await consumer.stop()
        ledger.close()
    return report(appended, run.published, takeovers)


def report(appended: set[str], published: Published, takeovers: list[Takeover]) -> dict[str, Any]:
    """The run's figures and the verdict of its checks."""
    lost = appended - published.contents.keys()
    conflicting = sorted(k for k, contents in published.contents.items() if len(contents) > 1)
    terms = {s: [t.term.token for t in takeovers if t.singleton == s] for s in SINGLETONS}
    newer = all(tokens == sorted(set(tokens)) for tokens in terms.values())
    return {
        "submissions": len(appended),
        "records": published.records,
        "republished": published.records - len(published.contents),
        "takeovers": {
            s: _figures([t.seconds for t in takeovers if t.singleton == s]) for s in SINGLETONS
        },
        "terms": terms,
        "checks": {
            "lost": len(lost),
            "conflicting": len(conflicting),
            "newerTerms": newer,
            "ok": not lost and not conflicting and newer,
        },
    }


def _figures(seconds: list[float]) -> dict[str, Any]:
    if not seconds:
        return {"count": 0}
    return {
        "count": len(seconds),
        "min": min(seconds),
        "median": statistics.median(seconds),
        "max": max(seconds),
        "each": [round(s, 3) for s in seconds],
    }
