"""The measured steps of ``amtsweg bench pipeline``: one scenario at rising offered rates.

A step offers ``rate`` submissions per second for ``duration`` seconds (open loop), then
waits until every accepted submission has an outcome (envelope on the authority's topic,
Rejected, Unroutable or a dead letter) or the drain timeout passes. Its figures:

- ``throughput``: submissions dispatched per second, from the first scheduled send to
  the last envelope published; while Amtsweg keeps up it follows the offered rate,
  beyond that it is what Amtsweg sustains (its backlog drains at that rate too);
- ``latencyMs``: from the scheduled send time to the envelope's ``CreateTime`` on the
  authority's topic (the relay published it); ``seenLatencyMs`` until the bench read it;
- ``errors``: refused or failed sends, Rejected, Unroutable, dead letters, and
  submissions without an outcome when the drain timeout passed (``missing``);
- CPU seconds of each process during the step, and in cores (CPU seconds per second of
  the step, drain included): Amtsweg's processes, the others (broker, bench client), and
  the rest of the machine (``foreignCpuShare``: anything else that ran, e.g. a test run);
  and Amtsweg's CPU milliseconds per accepted submission;
- ``memory``: resident memory of each process sampled during the step, and its growth
  over the step's second half (``harness.bench.memory``).

Rates stop rising for a scenario after the first saturated step: the backlog did not
drain, throughput fell below 90 % of the offered rate, or p99 passed ``max_p99_ms``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from harness.bench.load import Channel, HttpChannel, offer
from harness.bench.memory import MemorySampler
from harness.bench.observe import Observer
from harness.bench.payloads import Payloads
from harness.bench.processes import Usage, machine_busy_seconds, usage
from harness.bench.report import summarize

PAUSE_SECONDS = 2.0
KEEPS_UP = 0.9


@dataclass(frozen=True)
class Scenario:
    """A way in (``http`` or ``kafka``), a payload shape, and the rates to offer."""

    key: str
    name: str
    channel: str
    attachment_bytes: int
    rates: list[float]


@dataclass
class StepRunner:
    """What every step needs: where it sends, who watches, which processes to meter."""

    observer: Observer
    portal_id: str
    run_id: str
    processes: dict[str, int]
    amtsweg: set[str]
    """names in ``processes`` that are Amtsweg's own"""
    duration: float
    warmup: float
    drain_timeout: float
    max_p99_ms: float

    async def scenario(
        self, scenario: Scenario, channel: Channel, payloads: Payloads
    ) -> dict[str, Any]:
        """Warm up (not reported), then the steps at rising rates until saturation."""
        result: dict[str, Any] = {"warmup": None, "steps": []}
        if self.warmup > 0:
            warmup = await self.step(scenario, channel, payloads, min(scenario.rates), "warmup")
            result["warmup"] = {k: warmup[k] for k in ("rate", "offered", "dispatched", "errors")}
        for rate in scenario.rates:
            step = await self.step(scenario, channel, payloads, rate, f"{rate:g}")
            result["steps"].append(step)
            if step["saturated"]:
                break
        return result

    async def step(
        self, scenario: Scenario, channel: Channel, payloads: Payloads, rate: float, label: str
    ) -> dict[str, Any]:
        """One step at ``rate``; its figures as a JSON-ready dict."""
        if isinstance(channel, HttpChannel):
            channel.close()  # connections idle since the last step may be closed by now
        outcomes = self.observer.new_step()
        before, busy_before = self._usage(), machine_busy_seconds()
        memory = MemorySampler(self.processes)
        memory.start()
        started = time.monotonic()
        duration = self.warmup if label == "warmup" else self.duration
        sent = await offer(
            channel,
            payloads,
            rate=rate,
            duration=duration,
            key_prefix=f"bench-{self.run_id}-{scenario.key}-{label}",
            portal_id=self.portal_id,
            expect=self.observer.expect,
        )
        drained = True
        try:
            async with asyncio.timeout(self.drain_timeout):
                await self.observer.outcomes_of(sent.accepted)
        except TimeoutError:
            drained = False
        elapsed = time.monotonic() - started
        cpu = _cpu_delta(before, self._usage())
        busy = machine_busy_seconds() - busy_before
        await memory.stop()
        await asyncio.sleep(PAUSE_SECONDS)

        arrivals = {s: a for s, a in outcomes.dispatched.items() if s in sent.scheduled}
        latency = summarize([(a.published - sent.scheduled[s]) * 1000 for s, a in arrivals.items()])
        seen = summarize([(a.seen - sent.scheduled[s]) * 1000 for s, a in arrivals.items()])
        first = min(sent.scheduled.values(), default=0.0)
        last = max((a.published for a in arrivals.values()), default=first)
        throughput = len(arrivals) / (last - first) if last > first else 0.0
        errors: Counter[str] = Counter(sent.errors)
        errors.update(outcomes.failed.values())
        missing = len(sent.accepted) - len(sent.accepted & (arrivals.keys() | outcomes.failed))
        if missing:
            errors["missing"] = missing
        amtsweg_cpu = sum(v for name, v in cpu.items() if name in self.amtsweg)
        other_cpu = sum(v for name, v in cpu.items() if name not in self.amtsweg)
        saturated = not drained or throughput < KEEPS_UP * rate or latency.p99 > self.max_p99_ms
        return {
            "rate": rate,
            "offered": len(sent.scheduled),
            "offerSeconds": round(sent.offer_seconds, 3),
            "accepted": len(sent.accepted),
            "dispatched": len(arrivals),
            "throughput": round(throughput, 2),
            "latencyMs": asdict(latency),
            "seenLatencyMs": asdict(seen),
            "errors": dict(errors),
            "problems": dict(outcomes.problems.most_common(5)),
            "duplicateEnvelopes": outcomes.duplicates,
            "clientMaxLagMs": round(sent.max_lag_s * 1000, 1),
            "drained": drained,
            "saturated": saturated,
            "stepSeconds": round(elapsed, 2),
            "cpuSeconds": {name: round(value, 2) for name, value in cpu.items()},
            "amtswegCpuShare": round(amtsweg_cpu / elapsed, 3) if self.amtsweg else None,
            "amtswegCpuMsPerSubmission": (
                round(amtsweg_cpu / len(sent.accepted) * 1000, 2)
                if self.amtsweg and sent.accepted
                else None
            ),
            "otherCpuShare": round(other_cpu / elapsed, 3),
            "foreignCpuShare": round(max(0.0, busy - amtsweg_cpu - other_cpu) / elapsed, 3),
            "memory": memory.report(len(sent.scheduled)),
        }

    def _usage(self) -> dict[str, Usage | None]:
        return {name: usage(pid) for name, pid in self.processes.items()}


def _cpu_delta(before: dict[str, Usage | None], after: dict[str, Usage | None]) -> dict[str, float]:
    return {
        name: end.cpu_seconds - start.cpu_seconds
        for name, end in after.items()
        if end is not None and (start := before.get(name)) is not None
    }
